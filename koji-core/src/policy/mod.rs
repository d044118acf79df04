//! TODO: upstream's policy language.
