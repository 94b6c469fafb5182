//! Usage Quota Guardian — postgres integration (work in progress).
