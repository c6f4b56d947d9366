/// Collects the errors of one load while its readers walk the files.
///
/// Lives for one call of `DefinitionLoader` on one thread and is never shared between threads,
/// so it needs no lock; it is a class only so that every reader appends to the same list.
final class DefinitionDiagnostics {
    private(set) var errors: [DefinitionError] = []

    var isEmpty: Bool { errors.isEmpty }

    /// Compared before and after reading a part: a part is kept only if it added no error.
    var count: Int { errors.count }

    func report(_ error: DefinitionError) {
        errors.append(error)
    }

    /// Reports a problem that concerns a whole file (it cannot be read) rather than a place in it.
    func report(file: String, message: String) {
        errors.append(DefinitionError(file: file, line: 0, column: 0, path: "", message: message))
    }
}
