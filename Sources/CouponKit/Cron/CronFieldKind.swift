/// The five positional fields of a cron expression, with their ranges and names.
enum CronFieldKind: Int, Sendable, CaseIterable {
    case minute
    case hour
    case dayOfMonth
    case month
    case dayOfWeek

    /// The name used in error messages.
    var name: String {
        switch self {
        case .minute: "minute"
        case .hour: "hour"
        case .dayOfMonth: "day-of-month"
        case .month: "month"
        case .dayOfWeek: "day-of-week"
        }
    }

    /// The values a field accepts. Day-of-week accepts 7 as a second spelling of Sunday.
    var bounds: ClosedRange<Int> {
        switch self {
        case .minute: 0...59
        case .hour: 0...23
        case .dayOfMonth: 1...31
        case .month: 1...12
        case .dayOfWeek: 0...7
        }
    }

    /// The upper end used by `*` and by an open step `a/n`.
    /// For day-of-week this is Saturday (6), so `*/2` is SUN,TUE,THU,SAT and `1/2` is MON,WED,FRI.
    var implicitUpperBound: Int {
        self == .dayOfWeek ? 6 : bounds.upperBound
    }

    /// Three-letter names accepted by the field (case-insensitive), mapped to their values.
    var names: [String: Int] {
        switch self {
        case .month: CronFieldKind.monthNames
        case .dayOfWeek: CronFieldKind.weekdayNames
        default: [:]
        }
    }

    private static let monthNames: [String: Int] = [
        "JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
        "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12,
    ]

    private static let weekdayNames: [String: Int] = [
        "SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6,
    ]
}
