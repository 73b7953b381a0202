//! (filled in by the Features work: see `features.rs`.)
