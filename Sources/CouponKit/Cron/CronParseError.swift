/// Why a cron expression could not be parsed.
///
/// The message names the field, quotes the text and says what is wrong, for example
/// `minute field "61": value 61 out of range 0-59`.
public struct CronParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public var description: String { message }

    init(message: String) {
        self.message = message
    }

    /// An error located in one field: `<field> field "<text>": <detail>`.
    static func field(_ kind: CronFieldKind, _ text: Substring, _ detail: String) -> CronParseError {
        CronParseError(message: "\(kind.name) field \"\(text)\": \(detail)")
    }
}
