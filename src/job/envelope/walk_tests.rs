//! The one parse: placeholder.
