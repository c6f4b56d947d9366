import Testing

@testable import CouponKit

struct CronParseErrorCase: Sendable, CustomTestStringConvertible {
    let text: String
    let message: String

    init(_ text: String, _ message: String) {
        self.text = text
        self.message = message
    }

    var testDescription: String { "\"\(text)\"" }
}

@Suite struct CronParseErrorTests {
    static let cases: [CronParseErrorCase] = [
        CronParseErrorCase("", "empty cron expression"),
        CronParseErrorCase("  \t \n", "empty cron expression"),
        CronParseErrorCase(
            "0 0 * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 6"),
        CronParseErrorCase("0 0 * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"),
        CronParseErrorCase("61 * * * *", "minute field \"61\": value 61 out of range 0-59"),
        CronParseErrorCase("0 24 * * *", "hour field \"24\": value 24 out of range 0-23"),
        CronParseErrorCase("0 0 0 * *", "day-of-month field \"0\": value 0 out of range 1-31"),
        CronParseErrorCase("0 0 32 * *", "day-of-month field \"32\": value 32 out of range 1-31"),
        CronParseErrorCase("0 0 * 13 *", "month field \"13\": value 13 out of range 1-12"),
        CronParseErrorCase("0 0 * * 8", "day-of-week field \"8\": value 8 out of range 0-7"),
        CronParseErrorCase("0 0 1 * 1,8", "day-of-week field \"1,8\": value 8 out of range 0-7"),
        CronParseErrorCase(
            "99999999999999999999 * * * *",
            "minute field \"99999999999999999999\": value 99999999999999999999 out of range 0-59"),
        CronParseErrorCase("*/0 * * * *", "minute field \"*/0\": step must be at least 1, got 0"),
        CronParseErrorCase("*/60 * * * *", "minute field \"*/60\": step 60 out of range 1-59"),
        CronParseErrorCase(
            "*/x * * * *", "minute field \"*/x\": invalid step \"x\" (expected a whole number)"),
        CronParseErrorCase("5/ * * * *", "minute field \"5/\": missing step after \"/\""),
        CronParseErrorCase("/5 * * * *", "minute field \"/5\": missing value before \"/\""),
        CronParseErrorCase("1/2/3 * * * *", "minute field \"1/2/3\": \"1/2/3\" has more than one \"/\""),
        CronParseErrorCase("0 5-1 * * *", "hour field \"5-1\": range 5-1 is reversed (start 5 is after end 1)"),
        CronParseErrorCase(
            "0 0 * * FRI-MON", "day-of-week field \"FRI-MON\": range FRI-MON is reversed (start FRI is after end MON)"),
        CronParseErrorCase(
            "-5 * * * *", "minute field \"-5\": range \"-5\" has no start (negative numbers are not allowed)"),
        CronParseErrorCase("0 0 * * 1-", "day-of-week field \"1-\": range \"1-\" has no end"),
        CronParseErrorCase(
            "1-2-3 * * * *", "minute field \"1-2-3\": invalid range \"1-2-3\" (expected start-end)"),
        CronParseErrorCase("1,,2 * * * *", "minute field \"1,,2\": empty element in list"),
        CronParseErrorCase("0 0 1, * *", "day-of-month field \"1,\": empty element in list"),
        CronParseErrorCase(
            "0 0 * FOO *", "month field \"FOO\": unknown month name \"FOO\" (expected 1-12 or JAN-DEC)"),
        CronParseErrorCase(
            "0 0 * JAN-FOO *", "month field \"JAN-FOO\": unknown month name \"FOO\" (expected 1-12 or JAN-DEC)"),
        CronParseErrorCase(
            "0 0 * * FUN", "day-of-week field \"FUN\": unknown day-of-week name \"FUN\" (expected 0-7 or SUN-SAT)"),
        CronParseErrorCase(
            "0 0 * * MONDAY",
            "day-of-week field \"MONDAY\": unknown day-of-week name \"MONDAY\" (expected 0-7 or SUN-SAT)"),
        CronParseErrorCase("JAN 0 * * *", "minute field \"JAN\": invalid value \"JAN\" (expected a number 0-59)"),
        CronParseErrorCase("0 0 MON * *", "day-of-month field \"MON\": invalid value \"MON\" (expected a number 1-31)"),
        CronParseErrorCase("0 ? * * *", "hour field \"?\": invalid value \"?\" (expected a number 0-23)"),
        CronParseErrorCase("0 L * * *", "hour field \"L\": \"L\" is only allowed in the day-of-month field"),
        CronParseErrorCase("0 0 * * L", "day-of-week field \"L\": \"L\" is only allowed in the day-of-month field"),
        CronParseErrorCase(
            "0 0 L-3 * *", "day-of-month field \"L-3\": \"L\" cannot be used in a range or with a step"),
        CronParseErrorCase(
            "0 0 L/2 * *", "day-of-month field \"L/2\": \"L\" cannot be used in a range or with a step"),
        CronParseErrorCase(
            "@fortnightly",
            "unknown macro \"@fortnightly\" (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)"),
        CronParseErrorCase("@daily 5", "macro \"@daily\" takes no fields, but found \"5\" after it"),
        CronParseErrorCase(
            "@reboot", "macro \"@reboot\" is not supported: only time-based schedules can be computed"),
    ]

    @Test(arguments: cases)
    func invalidExpressionReportsFieldTextAndProblem(_ row: CronParseErrorCase) {
        let error = #expect(throws: CronParseError.self) {
            try CronExpression(row.text)
        }
        #expect(error?.message == row.message)
        #expect(error?.description == row.message)
    }

    @Test func firstInvalidFieldIsTheOneReported() {
        let error = #expect(throws: CronParseError.self) {
            try CronExpression("0 25 32 13 8")
        }
        #expect(error?.message == "hour field \"25\": value 25 out of range 0-23")
    }

    @Test func typedThrowsGivesCronParseErrorWithoutCasting() {
        do {
            _ = try CronExpression("0 0 * * * * *")
            Issue.record("seven fields must not parse")
        } catch {
            // `error` is statically a CronParseError thanks to typed throws.
            #expect(error.message.hasSuffix("got 7"))
            #expect(error == CronParseError(message: "expected 5 fields (minute hour day-of-month month day-of-week), got 7"))
        }
    }
}
