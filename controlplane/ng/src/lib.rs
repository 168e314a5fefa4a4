//! rtpengine ng control protocol (work in progress).
