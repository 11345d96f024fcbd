/// An error the CLI reports as `Error: <description>` with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    /// What went wrong and what to do about it.
    let description: String
}
