//! AWS Batch's error answers. The service models two errors, `ClientException` (HTTP 400: the
//! request is wrong, or names something that does not exist) and `ServerException` (HTTP 500);
//! throttling arrives as `TooManyRequestsException` (HTTP 429).

/// Which error the service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `ClientException`, HTTP 400.
    Client,
    /// `ServerException`, HTTP 500.
    Server,
    /// `TooManyRequestsException`, HTTP 429.
    TooManyRequests,
}

/// An error answer: its kind and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Which error.
    pub kind: ErrorKind,
    /// The `message` field.
    pub message: String,
}

impl ApiError {
    /// A `ClientException`.
    pub fn client(message: impl Into<String>) -> Self {
        ApiError {
            kind: ErrorKind::Client,
            message: message.into(),
        }
    }

    /// A `ServerException`.
    pub fn server(message: impl Into<String>) -> Self {
        ApiError {
            kind: ErrorKind::Server,
            message: message.into(),
        }
    }

    /// A `TooManyRequestsException`.
    pub fn too_many_requests() -> Self {
        ApiError {
            kind: ErrorKind::TooManyRequests,
            message: "Too Many Requests".into(),
        }
    }

    /// The error's type name (`__type` and `x-amzn-ErrorType`).
    pub fn code(&self) -> &'static str {
        match self.kind {
            ErrorKind::Client => "ClientException",
            ErrorKind::Server => "ServerException",
            ErrorKind::TooManyRequests => "TooManyRequestsException",
        }
    }

    /// The HTTP status it is answered with.
    pub fn status(&self) -> u16 {
        match self.kind {
            ErrorKind::Client => 400,
            ErrorKind::Server => 500,
            ErrorKind::TooManyRequests => 429,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message)
    }
}

impl std::error::Error for ApiError {}

/// The `Result` of the simulation's operations.
pub type ApiResult<T> = Result<T, ApiError>;
