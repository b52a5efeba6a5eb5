//! Tencent error answers: a code (`ResourceNotFound.Job`, ...) and its message, sent inside the
//! response envelope.

/// An error answer: a Tencent error code and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The code, e.g. `ResourceNotFound.Job`.
    pub code: String,
    /// The human-readable message.
    pub message: String,
}

impl ApiError {
    /// An error with this code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            code: code.into(),
            message: message.into(),
        }
    }

    /// `MissingParameter` for a named parameter.
    pub fn missing(name: &str) -> Self {
        ApiError::new(
            "MissingParameter",
            format!("The request is missing a required parameter `{name}`."),
        )
    }

    /// `InvalidParameter` with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new("InvalidParameter", message)
    }

    /// `InvalidParameterValue` with a message.
    pub fn invalid_value(message: impl Into<String>) -> Self {
        ApiError::new("InvalidParameterValue", message)
    }
}
