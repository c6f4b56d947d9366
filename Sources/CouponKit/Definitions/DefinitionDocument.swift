import Foundation
import Yams

/// Reads one definition file and composes its YAML, turning read and syntax errors into
/// definition errors at the file's line and column.
enum DefinitionDocument {
    enum Outcome {
        case document(DefinitionReader)
        /// No content, or only comments or `~`.
        case empty
        /// The problem is reported.
        case failed
    }

    static func read(file: String, diagnostics: DefinitionDiagnostics) -> Outcome {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            diagnostics.report(file: file, message: "cannot read file (\(readFailure(file)))")
            return .failed
        }
        guard let text = String(data: data, encoding: .utf8) else {
            diagnostics.report(file: file, message: "not UTF-8 text")
            return .failed
        }
        return compose(text, file: file, diagnostics: diagnostics)
    }

    static func compose(_ text: String, file: String, diagnostics: DefinitionDiagnostics) -> Outcome {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            diagnostics.report(syntaxError(error, file: file, text: text))
            return .failed
        } catch {
            diagnostics.report(
                DefinitionError(file: file, line: 1, column: 1, path: "", message: "invalid YAML: \(error)"))
            return .failed
        }
        guard let node, !(node.tag.rawValue == Tag.Name.null.rawValue && node.scalar != nil) else {
            return .empty
        }
        return .document(DefinitionReader(node: node, file: file, path: "", diagnostics: diagnostics))
    }

    private static func readFailure(_ file: String) -> String {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) {
            return "no such file"
        }
        return isDirectory.boolValue ? "it is a directory" : "permission denied or I/O error"
    }

    static func syntaxError(_ error: YamlError, file: String, text: String) -> DefinitionError {
        func located(_ mark: Mark, _ message: String) -> DefinitionError {
            DefinitionError(file: file, line: mark.line, column: mark.column, path: "", message: message)
        }
        func problem(_ context: YamlError.Context?, _ problem: String) -> String {
            guard let context else { return "invalid YAML: \(problem)" }
            return
                "invalid YAML: \(problem) (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
        }
        switch error {
        case .scanner(let context, let text, let mark, _),
            .parser(let context, let text, let mark, _):
            return located(mark, problem(context, text))
        case .composer(let context, let text, let mark, _):
            if text == "but found another document" {
                return located(mark, "invalid YAML: expected one document, found another (remove the ---)")
            }
            return located(mark, problem(context, text))
        case .reader(let problem, let offset, _, _):
            let (line, column) = position(ofCharacterOffset: offset ?? 0, in: text)
            return DefinitionError(
                file: file, line: line, column: column, path: "", message: "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            let noun = duplicates.count == 1 ? "key" : "keys"
            return located(context.mark, "duplicate \(noun) \(keys) in this mapping")
        default:
            return DefinitionError(file: file, line: 1, column: 1, path: "", message: "invalid YAML: \(error)")
        }
    }

    /// 1-based line and column (in Unicode scalars, as libyaml counts) of a character offset.
    private static func position(ofCharacterOffset offset: Int, in text: String) -> (Int, Int) {
        var line = 1
        var column = 1
        for character in text.prefix(offset) {
            if character == "\n" || character == "\r\n" {
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
        }
        return (line, column)
    }
}
