//! Usage Quota Guardian — redis integration (work in progress).
