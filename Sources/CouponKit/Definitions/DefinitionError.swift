/// One problem found in a definition file, located by file, line, column and field path.
///
/// Printed as `jobs/vip.yaml:7:5: segment.all[0].tier: unknown tier "glod" (did you mean "gold"?)`
/// so that editors and terminals can jump to it. A problem with no position in the file (the
/// file or directory cannot be read) has line and column 0 and prints without them.
public struct DefinitionError: Sendable, Equatable, CustomStringConvertible {
    /// The file as its path was given to the loader (`jobs/vip.yaml`).
    public let file: String
    /// 1-based line, or 0 when the problem concerns the file as a whole.
    public let line: Int
    /// 1-based column counted in Unicode scalars, or 0 with `line`.
    public let column: Int
    /// The dotted field path (`segment.all[1].tier`); empty for problems outside any field.
    public let path: String
    /// What is wrong, and where it helps, what to write instead.
    public let message: String

    public init(file: String, line: Int, column: Int, path: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    public var description: String {
        var text = file
        if line > 0 {
            text += ":\(line):\(column)"
        }
        text += ": "
        if !path.isEmpty {
            text += path + ": "
        }
        return text + message
    }
}

/// All problems of one load or validation, so that a user fixes every file in one round.
public struct DefinitionErrors: Error, Sendable, CustomStringConvertible {
    /// Sorted by file, then line, then column; problems at the same place keep the order found.
    public let errors: [DefinitionError]

    public init(_ errors: [DefinitionError]) {
        self.errors = errors.enumerated()
            .sorted { lhs, rhs in
                let left = lhs.element
                let right = rhs.element
                if left.file != right.file { return left.file < right.file }
                if left.line != right.line { return left.line < right.line }
                if left.column != right.column { return left.column < right.column }
                return lhs.offset < rhs.offset
            }
            .map(\.element)
    }

    /// One error a line.
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
