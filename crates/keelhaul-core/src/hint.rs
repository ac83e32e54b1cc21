/// An error that knows what the user can do about it.
///
/// The CLI prints the error chain, then every hint found on any error in the chain as a
/// `hint:` line. Hints are data, not formatted into messages, so the same error reads well
/// in a terminal, in JSON logs and in an HTTP error body.
pub trait Hint {
    /// A one-line suggestion, or `None` when there is nothing useful to say.
    fn hint(&self) -> Option<String> {
        None
    }
}
