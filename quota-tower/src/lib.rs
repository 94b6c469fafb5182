//! Usage Quota Guardian — tower integration (work in progress).
