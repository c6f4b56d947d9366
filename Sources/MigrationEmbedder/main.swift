import Foundation

// Writes a Swift source holding the text of every migration given, so that the executable carries
// its migrations and `couponbatch migrate` works from any directory (the EmbedMigrations plugin
// runs this at build time). Usage: MigrationEmbedder OUTPUT.swift FILE.sql...

/// A Swift string literal with exactly the file's characters (checksums are over these bytes).
func literal(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += "\\u{\(String(scalar.value, radix: 16))}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: MigrationEmbedder OUTPUT.swift FILE.sql...\n".utf8))
    exit(64)
}
var source = """
    // Generated at build time from sql/*.sql by MigrationEmbedder; do not edit.
    extension Migration {
        /// (file name, text) of every migration this build carries, in file name order.
        static let embeddedFiles: [(fileName: String, sql: String)] = [

    """
for path in arguments.dropFirst().sorted(by: { ($0 as NSString).lastPathComponent < ($1 as NSString).lastPathComponent }) {
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("MigrationEmbedder: cannot read \(path)\n".utf8))
        exit(66)
    }
    let name = (path as NSString).lastPathComponent
    source += "        (\(literal(name)), \(literal(String(decoding: data, as: UTF8.self)))),\n"
}
source += "    ]\n}\n"
// Unchanged text is not rewritten: a rebuilt tool (debug vs. test flags) then recompiles nothing.
if FileManager.default.contents(atPath: output) == Data(source.utf8) { exit(0) }
do {
    try Data(source.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
} catch {
    FileHandle.standardError.write(Data("MigrationEmbedder: cannot write \(output): \(error)\n".utf8))
    exit(73)
}
