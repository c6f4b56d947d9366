import Foundation
import Testing

@testable import CouponKit

/// A broken deployment and the exact error lines it must produce.
struct MalformedCase: CustomTestStringConvertible, Sendable {
    let label: String
    /// Files inside `jobs/`; the standard templates.yaml is added unless one is given.
    let files: [String: String]
    let expected: [String]
    var testDescription: String { label }

    init(_ label: String, _ files: [String: String], _ expected: [String]) {
        self.label = label
        self.files = files
        self.expected = expected
    }

    init(_ label: String, job: String, _ expected: [String]) {
        self.init(label, ["a.yaml": job], expected)
    }

    init(_ label: String, templates: String, _ expected: [String]) {
        self.init(label, ["templates.yaml": templates], expected)
    }
}

extension MalformedCase {
    /// What the cron parser says about `text`, so these cases hold for any CronExpression.
    static func cronMessage(_ text: String) -> String {
        do {
            _ = try CronExpression(text)
            return "(accepted)"
        } catch {
            return error.message
        }
    }

    static let noopHeader = "name: a\nkind: noop\nmanual_only: true\n"

    static let jobFiles: [MalformedCase] = [
        MalformedCase(
            "unknown top-level key, with did you mean",
            job: "name: a\nkind: noop\nschedul: \"@daily\"\n",
            [
                "jobs/a.yaml:1:1: schedule: required field is missing (or set manual_only: true)",
                "jobs/a.yaml:3:1: schedul: unknown field \"schedul\" (did you mean \"schedule\"?)",
            ]),
        MalformedCase(
            "a quoted string where an integer belongs",
            job: noopHeader + "max_catch_up: \"24\"\n",
            ["jobs/a.yaml:4:15: max_catch_up: expected an integer, got \"24\""]),
        MalformedCase(
            "a list where a mapping belongs",
            job: noopHeader + "retry: [3]\n",
            ["jobs/a.yaml:4:8: retry: expected a mapping, got a list"]),
        MalformedCase(
            "a float where an integer belongs",
            job: JobYAML.issue("segment: everyone\ncoupons: [{template: recall-7d, quantity: 1.5}]"),
            ["jobs/a.yaml:5:43: coupons[0].quantity: expected an integer, got 1.5"]),
        MalformedCase(
            "missing name",
            job: "kind: noop\nmanual_only: true\n",
            ["jobs/a.yaml:1:1: name: required field is missing"]),
        MalformedCase(
            "missing kind",
            job: "name: a\nmanual_only: true\n",
            ["jobs/a.yaml:1:1: kind: required field is missing"]),
        MalformedCase(
            "bad cron expression",
            job: "name: a\nkind: noop\nschedule: \"every day\"\n",
            ["jobs/a.yaml:3:11: schedule: \(cronMessage("every day"))"]),
        MalformedCase(
            "unknown time zone, with did you mean",
            job: noopHeader + "timezone: Asia/Shangai\n",
            ["jobs/a.yaml:4:11: timezone: unknown time zone \"Asia/Shangai\" (did you mean \"Asia/Shanghai\"?)"]),
        MalformedCase(
            "unknown template, with did you mean",
            job: JobYAML.issue("segment: everyone\ncoupons: [{template: recall-8d}]"),
            ["jobs/a.yaml:5:22: coupons[0].template: unknown template \"recall-8d\" (did you mean \"recall-7d\"?)"]),
        MalformedCase(
            "duplicate job name across two files",
            [
                "a.yaml": "name: dup\nkind: noop\nmanual_only: true\n",
                "b.yaml": "name: dup\nkind: noop\nmanual_only: true\n",
            ],
            ["jobs/b.yaml:1:7: name: duplicate job name \"dup\" (already defined in jobs/a.yaml)"]),
        MalformedCase(
            "bad duration",
            job: noopHeader + "starting_deadline: 5x\n",
            ["jobs/a.yaml:4:20: starting_deadline: invalid duration \"5x\" (use e.g. 90s, 15m, 1h, 2d or 1h30m)"]),
        MalformedCase(
            "duration units out of order",
            job: noopHeader + "timeout: 30m1h\n",
            ["jobs/a.yaml:4:10: timeout: invalid duration \"30m1h\" (use e.g. 90s, 15m, 1h, 2d or 1h30m)"]),
        MalformedCase(
            "zero duration",
            job: noopHeader + "timeout: 0s\n",
            ["jobs/a.yaml:4:10: timeout: must be longer than zero"]),
        MalformedCase(
            "zero quantity",
            job: JobYAML.issue("segment: everyone\ncoupons: [{template: recall-7d, quantity: 0}]"),
            ["jobs/a.yaml:5:43: coupons[0].quantity: must be at least 1, got 0"]),
        MalformedCase(
            "negative days",
            job: JobYAML.issue("segment: {dormant_days: -5}\ncoupons: [{template: recall-7d}]"),
            ["jobs/a.yaml:4:25: segment.dormant_days: must be at least 1, got -5"]),
        MalformedCase(
            "chunk size below its range",
            job: JobYAML.issue("segment: everyone\ncoupons: [{template: recall-7d}]\nchunk_size: 50"),
            ["jobs/a.yaml:6:13: chunk_size: must be between 100 and 1000000, got 50"]),
        MalformedCase(
            "zero max_catch_up",
            job: noopHeader + "max_catch_up: 0\n",
            ["jobs/a.yaml:4:15: max_catch_up: must be at least 1, got 0"]),
        MalformedCase(
            "unknown tier, with did you mean",
            ["vip.yaml": JobYAML.issue("coupons: [{template: recall-7d}]\nsegment:\n  all:\n    - tier: glod")],
            ["jobs/vip.yaml:7:13: segment.all[0].tier: unknown tier \"glod\" (did you mean \"gold\"?)"]),
        MalformedCase(
            "unknown tier in a list, with the tiers listed",
            job: JobYAML.segment("  tier: [gold, diamond]"),
            [
                "jobs/a.yaml:5:16: segment.tier[1]: unknown tier \"diamond\" (expected one of standard, silver, gold, platinum)"
            ]),
        MalformedCase(
            "empty tier list",
            job: JobYAML.segment("  tier: []"),
            ["jobs/a.yaml:5:9: segment.tier: must not be empty"]),
        MalformedCase(
            "range with min above max",
            job: JobYAML.issue("segment: {total_spend_fen: {min: 500, max: 100}}\ncoupons: [{template: recall-7d}]"),
            ["jobs/a.yaml:4:28: segment.total_spend_fen: min (500) is greater than max (100)"]),
        MalformedCase(
            "range with neither bound",
            job: JobYAML.issue("segment: {order_count: {}}\ncoupons: [{template: recall-7d}]"),
            ["jobs/a.yaml:4:24: segment.order_count: needs min, max or both"]),
        MalformedCase(
            "empty all",
            job: JobYAML.issue("segment: {all: []}\ncoupons: [{template: recall-7d}]"),
            ["jobs/a.yaml:4:16: segment.all: must not be empty"]),
        MalformedCase(
            "nested segment mapping with zero keys",
            job: JobYAML.issue("segment: {not: {}}\ncoupons: [{template: recall-7d}]"),
            ["jobs/a.yaml:4:16: segment.not: a segment needs exactly one condition, got none"]),
        MalformedCase(
            "top-level segment mapping with zero keys",
            job: JobYAML.issue("segment: {}\ncoupons: [{template: recall-7d}]"),
            ["jobs/a.yaml:4:10: segment: must have at least one condition (or be \"everyone\")"]),
        MalformedCase(
            "nested segment mapping with two keys",
            job: JobYAML.issue("segment: {any: [{tier: gold, dormant_days: 3}]}\ncoupons: [{template: recall-7d}]"),
            [
                "jobs/a.yaml:4:17: segment.any[0]: a segment needs exactly one condition, got 2 (tier, dormant_days); "
                    + "combine them with all:"
            ]),
        MalformedCase(
            "unknown segment condition, with did you mean",
            job: JobYAML.issue("segment: {teir: gold}\ncoupons: [{template: recall-7d}]"),
            ["jobs/a.yaml:4:11: segment.teir: unknown condition \"teir\" (did you mean \"tier\"?)"]),
        MalformedCase(
            "a scalar segment other than everyone",
            job: JobYAML.issue("segment: nobody\ncoupons: [{template: recall-7d}]"),
            ["jobs/a.yaml:4:10: segment: expected \"everyone\" or a mapping with one condition, got \"nobody\""]),
        MalformedCase(
            "rfm score out of range",
            job: JobYAML.issue("segment: {rfm: {recency: 6}}\ncoupons: [{template: recall-7d}]"),
            ["jobs/a.yaml:4:26: segment.rfm.recency: must be between 1 and 5, got 6"]),
        MalformedCase(
            "rfm with no dimension",
            job: JobYAML.issue("segment: {rfm: {}}\ncoupons: [{template: recall-7d}]"),
            ["jobs/a.yaml:4:16: segment.rfm: needs at least one of recency, frequency, monetary"]),
        MalformedCase(
            "rfm with a misspelled dimension",
            job: JobYAML.issue("segment: {rfm: {recent: 5}}\ncoupons: [{template: recall-7d}]"),
            ["jobs/a.yaml:4:17: segment.rfm.recent: unknown field \"recent\" (did you mean \"recency\"?)"]),
        MalformedCase(
            "empty sql",
            job: JobYAML.issue("segment: {sql: \"  \"}\ncoupons: [{template: recall-7d}]"),
            ["jobs/a.yaml:4:16: segment.sql: must not be empty"]),
        MalformedCase(
            "missing list file",
            job: JobYAML.issue("segment: {list: missing.csv}\ncoupons: [{template: recall-7d}]"),
            ["jobs/a.yaml:4:17: segment.list: list file \"missing.csv\" does not exist"]),
        MalformedCase(
            "both coupons and variants",
            job: JobYAML.issue(
                "segment: everyone\ncoupons: [{template: recall-7d}]\nvariants: [{name: a, weight: 1, coupons: [{template: recall-7d}]}]"
            ),
            ["jobs/a.yaml:6:11: variants: give either coupons or variants, not both"]),
        MalformedCase(
            "neither coupons nor variants",
            job: JobYAML.issue("segment: everyone"),
            ["jobs/a.yaml:1:1: coupons: required field is missing (give coupons or variants)"]),
        MalformedCase(
            "missing segment",
            job: JobYAML.issue("coupons: [{template: recall-7d}]"),
            ["jobs/a.yaml:1:1: segment: required field is missing"]),
        MalformedCase(
            "the same template twice in a combo",
            job: JobYAML.issue("segment: everyone\ncoupons: [{template: recall-7d}, {template: recall-7d}]"),
            [
                "jobs/a.yaml:5:45: coupons[1].template: template \"recall-7d\" is listed twice; raise its quantity instead"
            ]),
        MalformedCase(
            "holdout arm with coupons",
            job: JobYAML.issue(
                """
                segment: everyone
                variants:
                  - {name: a, weight: 1, coupons: [{template: recall-7d}]}
                  - {name: h, weight: 1, holdout: true, coupons: [{template: recall-15d}]}
                """),
            ["jobs/a.yaml:7:50: variants[1].coupons: a holdout arm gets no coupons"]),
        MalformedCase(
            "two holdout arms",
            job: JobYAML.issue(
                """
                segment: everyone
                variants:
                  - {name: a, weight: 1, coupons: [{template: recall-7d}]}
                  - {name: h1, weight: 1, holdout: true}
                  - {name: h2, weight: 1, holdout: true}
                """),
            ["jobs/a.yaml:8:36: variants[2].holdout: only one arm may be a holdout (\"h1\" already is)"]),
        MalformedCase(
            "duplicate variant names and a zero weight",
            job: JobYAML.issue(
                """
                segment: everyone
                variants:
                  - {name: a, weight: 1, coupons: [{template: recall-7d}]}
                  - {name: a, weight: 0, coupons: [{template: recall-15d}]}
                """),
            [
                "jobs/a.yaml:7:12: variants[1].name: duplicate variant name \"a\"",
                "jobs/a.yaml:7:23: variants[1].weight: must be between 1 and 1000000, got 0",
            ]),
        MalformedCase(
            "variant without coupons",
            job: JobYAML.issue("segment: everyone\nvariants:\n  - {name: a, weight: 1}"),
            ["jobs/a.yaml:6:5: variants[0].coupons: required field is missing (or set holdout: true)"]),
        MalformedCase(
            "YAML syntax error",
            job: "name: a\nkind: noop\nschedule: \"@daily\nmanual_only: true\n",
            [
                "jobs/a.yaml:5:1: invalid YAML: found unexpected end of stream "
                    + "(while scanning a quoted scalar at line 3, column 11)"
            ]),
        MalformedCase(
            "YAML mapping value where none may be",
            job: "name: a\nkind: noop: issue\n",
            ["jobs/a.yaml:2:11: invalid YAML: mapping values are not allowed in this context"]),
        MalformedCase(
            "duplicate key in one mapping",
            job: "name: a\nkind: noop\nmanual_only: true\nname: b\n",
            ["jobs/a.yaml:1:1: duplicate key \"name\" in this mapping"]),
        MalformedCase(
            "two YAML documents in one file",
            job: noopHeader + "---\nname: b\n",
            ["jobs/a.yaml:4:1: invalid YAML: expected one document, found another (remove the ---)"]),
        MalformedCase(
            "empty job file",
            job: "# nothing here\n",
            ["jobs/a.yaml:1:1: job file is empty"]),
        MalformedCase(
            "job file that is a list",
            job: "- name: a\n",
            ["jobs/a.yaml:1:1: expected a mapping, got a list"]),
        MalformedCase(
            "unknown kind, with did you mean",
            job: "name: a\nkind: isue\nmanual_only: true\n",
            ["jobs/a.yaml:2:7: kind: unknown kind \"isue\" (did you mean \"issue\"?)"]),
        MalformedCase(
            "manual_only job with a schedule",
            job: "name: a\nkind: noop\nschedule: \"@daily\"\nmanual_only: true\n",
            ["jobs/a.yaml:3:11: schedule: a manual_only job has no schedule; remove one of them"]),
        MalformedCase(
            "a noop field on an issue job",
            job: JobYAML.issue("segment: everyone\ncoupons: [{template: recall-7d}]\nsleep_ms: 10"),
            ["jobs/a.yaml:6:1: sleep_ms: sleep_ms is not a field of an issue job"]),
        MalformedCase(
            "an issue field on a noop job",
            job: noopHeader + "segment: everyone\n",
            ["jobs/a.yaml:4:1: segment: segment is not a field of a noop job"]),
        MalformedCase(
            "invalid job name",
            job: "name: VIP_Monthly\nkind: noop\nmanual_only: true\n",
            [
                "jobs/a.yaml:1:7: name: invalid job name \"VIP_Monthly\" "
                    + "(use lowercase letters, digits and dashes, starting with a letter or digit)"
            ]),
        MalformedCase(
            "manual_only that is not a boolean",
            job: "name: a\nkind: noop\nmanual_only: \"true\"\n",
            ["jobs/a.yaml:3:14: manual_only: expected true or false, got \"true\""]),
        MalformedCase(
            "yes is not a boolean here",
            job: noopHeader + "fail: yes\n",
            ["jobs/a.yaml:4:7: fail: expected true or false, got yes"]),
        MalformedCase(
            "unknown concurrency, with a prefix suggestion",
            job: noopHeader + "concurrency: forbidden\ncatch_up: everything\n",
            [
                "jobs/a.yaml:4:14: concurrency: unknown concurrency \"forbidden\" (did you mean \"forbid\"?)",
                "jobs/a.yaml:5:11: catch_up: unknown catch_up \"everything\" (expected one of none, latest, all)",
            ]),
        MalformedCase(
            "retry without attempts and with a bad backoff",
            job: noopHeader + "retry: {backoff: soon}\n",
            [
                "jobs/a.yaml:4:8: retry.attempts: required field is missing",
                "jobs/a.yaml:4:18: retry.backoff: invalid duration \"soon\" (use e.g. 90s, 15m, 1h, 2d or 1h30m)",
            ]),
        MalformedCase(
            "noop chunks out of range",
            job: noopHeader + "chunks: 10001\nsleep_ms: -1\n",
            [
                "jobs/a.yaml:4:9: chunks: must be between 1 and 10000, got 10001",
                "jobs/a.yaml:5:11: sleep_ms: must be between 0 and 3600000, got -1",
            ]),
        MalformedCase(
            "null where a string belongs",
            job: noopHeader + "description:\n",
            ["jobs/a.yaml:4:13: description: expected a string, got null"]),
    ]

    static let templateFiles: [MalformedCase] = [
        MalformedCase(
            "duplicate template key",
            templates: """
                templates:
                  - {key: c, type: cash, off_fen: 1, validity: {days: 1}}
                  - {key: c, type: cash, off_fen: 2, validity: {days: 1}}
                """,
            ["jobs/templates.yaml:3:11: templates[1].key: duplicate template key \"c\" (first defined at line 2)"]),
        MalformedCase(
            "validity from after until",
            templates: """
                templates:
                  - key: c
                    type: cash
                    off_fen: 1
                    validity: {from: 2026-12-31, until: 2026-12-01}
                """,
            ["jobs/templates.yaml:5:41: templates[0].validity.until: until (2026-12-01) is before from (2026-12-31)"]),
        MalformedCase(
            "validity with both days and a window",
            templates: "templates:\n  - {key: c, type: cash, off_fen: 1, validity: {days: 3, from: 2026-01-01}}\n",
            ["jobs/templates.yaml:2:48: templates[0].validity: give either days or from and until, not both"]),
        MalformedCase(
            "validity with an impossible date",
            templates:
                "templates:\n  - {key: c, type: cash, off_fen: 1, validity: {from: 2026-02-30, until: 2026-03-01}}\n",
            ["jobs/templates.yaml:2:55: templates[0].validity.from: invalid date \"2026-02-30\" (expected YYYY-MM-DD)"]),
        MalformedCase(
            "template without validity",
            templates: "templates:\n  - key: c\n    type: cash\n    off_fen: 1\n",
            ["jobs/templates.yaml:2:5: templates[0].validity: required field is missing"]),
        MalformedCase(
            "a field of another template type",
            templates: """
                templates:
                  - key: d
                    type: discount
                    percent_off: 10
                    off_fen: 100
                    validity: {days: 1}
                """,
            ["jobs/templates.yaml:5:5: templates[0].off_fen: off_fen is not a field of a discount template"]),
        MalformedCase(
            "threshold tiers not increasing",
            templates: """
                templates:
                  - key: t
                    type: threshold
                    tiers:
                      - {min_spend_fen: 20000, off_fen: 5000}
                      - {min_spend_fen: 10000, off_fen: 2000}
                    validity: {days: 1}
                """,
            [
                "jobs/templates.yaml:6:25: templates[0].tiers[1].min_spend_fen: "
                    + "must be greater than the previous tier's min_spend_fen (20000)",
                "jobs/templates.yaml:6:41: templates[0].tiers[1].off_fen: must be greater than the previous tier's off_fen (5000)",
            ]),
        MalformedCase(
            "threshold off not below its minimum spend",
            templates:
                "templates:\n  - {key: t, type: threshold, validity: {days: 1}, tiers: [{min_spend_fen: 1000, off_fen: 1000}]}\n",
            [
                "jobs/templates.yaml:2:91: templates[0].tiers[0].off_fen: off_fen (1000) must be less than min_spend_fen (1000)"
            ]),
        MalformedCase(
            "percent_off of 100",
            templates: "templates:\n  - key: d\n    type: discount\n    percent_off: 100\n    validity: {days: 1}\n",
            ["jobs/templates.yaml:4:18: templates[0].percent_off: must be between 1 and 99, got 100"]),
        MalformedCase(
            "unknown coupon type, with did you mean",
            templates: "templates:\n  - {key: t, type: thresold, validity: {days: 1}}\n",
            [
                "jobs/templates.yaml:2:20: templates[0].type: unknown coupon type \"thresold\" (did you mean \"threshold\"?)"
            ]),
        MalformedCase(
            "punch card with one use and a blind box with one choice",
            templates: """
                templates:
                  - {key: p, type: punch, uses: 1, value_fen: 100, validity: {days: 1}}
                  - {key: b, type: blindbox, choices: [{off_fen: 100, weight: 1}], validity: {days: 1}}
                """,
            [
                "jobs/templates.yaml:2:33: templates[0].uses: must be at least 2, got 1",
                "jobs/templates.yaml:3:39: templates[1].choices: needs at least 2 choices, got 1",
            ]),
        MalformedCase(
            "template key that is not a slug, and zero stock",
            templates: "templates:\n  - {key: Big Sale, type: cash, off_fen: 1, validity: {days: 1}, stock: 0}\n",
            [
                "jobs/templates.yaml:2:11: templates[0].key: invalid template key \"Big Sale\" "
                    + "(use lowercase letters, digits and dashes, starting with a letter or digit)",
                "jobs/templates.yaml:2:73: templates[0].stock: must be at least 1, got 0",
            ]),
        MalformedCase(
            "plan with an unknown template and a negative price",
            ["plans.yaml": "plans:\n  - {key: gold, price_fen: -1, coupons: [{template: vip-2000-30}]}\n"],
            [
                "jobs/plans.yaml:2:28: plans[0].price_fen: must be at least 0, got -1",
                "jobs/plans.yaml:2:53: plans[0].coupons[0].template: unknown template \"vip-2000-30\" "
                    + "(did you mean \"vip-2000-300\"?)",
            ]),
        MalformedCase(
            "duplicate plan key",
            [
                "plans.yaml":
                    "plans:\n  - {key: p, price_fen: 1, coupons: [{template: recall-7d}]}\n  - {key: p, price_fen: 2, coupons: [{template: recall-7d}]}\n"
            ],
            ["jobs/plans.yaml:3:11: plans[1].key: duplicate plan key \"p\" (first defined at line 2)"]),
    ]
}

@Suite("Definition errors")
struct DefinitionErrorTests {
    @Test(arguments: MalformedCase.jobFiles + MalformedCase.templateFiles)
    func malformedInputIsReportedAtItsPlace(_ testCase: MalformedCase) throws {
        let fixture = try DefinitionFixture(testCase.files)
        #expect(fixture.loadErrors() == testCase.expected)
    }

    @Test func thereAreAtLeastThirtyDistinctMalformedCases() {
        let all = MalformedCase.jobFiles + MalformedCase.templateFiles
        #expect(all.count >= 30)
        #expect(Set(all.map(\.label)).count == all.count)
        #expect(all.allSatisfy { !$0.expected.isEmpty })
    }

    @Test func errorsOfSeveralFilesAreReportedTogetherAndSorted() throws {
        let fixture = try DefinitionFixture([
            "c.yaml": "name: c\nkind: noop\nmanual_only: true\nchunks: 0\n",
            "a.yaml": "name: a\nkind: nope\nmanual_only: true\n",
            "b.yaml": "name: b\nkind: noop\nschedule: \"bad\"\ntimezone: Mars/Olympus\n",
            "templates.yaml": "templates:\n  - {key: c, type: cash, validity: {days: 1}}\n",
            "good.yaml": "name: good\nkind: noop\nmanual_only: true\n",
        ])
        #expect(
            fixture.loadErrors() == [
                "jobs/a.yaml:2:7: kind: unknown kind \"nope\" (did you mean \"noop\"?)",
                "jobs/b.yaml:3:11: schedule: \(MalformedCase.cronMessage("bad"))",
                "jobs/b.yaml:4:11: timezone: unknown time zone \"Mars/Olympus\"",
                "jobs/c.yaml:4:9: chunks: must be between 1 and 10000, got 0",
                "jobs/templates.yaml:2:5: templates[0].off_fen: required field is missing",
            ])
    }

    @Test func aJobNamingABrokenTemplateIsNotAlsoBlamedForIt() throws {
        let fixture = try DefinitionFixture([
            "templates.yaml": "templates:\n  - {key: broken, type: cash, off_fen: 0, validity: {days: 1}}\n",
            "a.yaml": JobYAML.issue("segment: everyone\ncoupons: [{template: broken}]"),
        ])
        #expect(fixture.loadErrors() == ["jobs/templates.yaml:2:40: templates[0].off_fen: must be at least 1, got 0"])
    }

    @Test func withoutTemplatesEveryTemplateIsUnknown() throws {
        let fixture = try DefinitionFixture(
            ["a.yaml": JobYAML.issue("segment: everyone\ncoupons: [{template: recall-7d}]")], withTemplates: false)
        #expect(
            fixture.loadErrors() == [
                "jobs/a.yaml:5:22: coupons[0].template: unknown template \"recall-7d\" (templates.yaml defines none)"
            ])
    }

    @Test func descriptionLeavesOutAnEmptyPathAndAMissingPosition() {
        let located = DefinitionError(file: "jobs/a.yaml", line: 2, column: 3, path: "", message: "bad")
        let whole = DefinitionError(file: "jobs", line: 0, column: 0, path: "", message: "cannot read")
        let field = DefinitionError(file: "jobs/a.yaml", line: 7, column: 5, path: "segment.tier", message: "x")
        #expect(located.description == "jobs/a.yaml:2:3: bad")
        #expect(whole.description == "jobs: cannot read")
        #expect(field.description == "jobs/a.yaml:7:5: segment.tier: x")
    }

    @Test func errorsSortByFileLineAndColumn() {
        func error(_ file: String, _ line: Int, _ column: Int, _ message: String) -> DefinitionError {
            DefinitionError(file: file, line: line, column: column, path: "", message: message)
        }
        let errors = DefinitionErrors([
            error("b", 1, 1, "4"), error("a", 2, 1, "3"), error("a", 1, 9, "2"), error("a", 1, 2, "1"),
            error("a", 1, 2, "1b"),
        ])
        #expect(errors.errors.map(\.message) == ["1", "1b", "2", "3", "4"])
        #expect(errors.description == "a:1:2: 1\na:1:2: 1b\na:1:9: 2\na:2:1: 3\nb:1:1: 4")
    }
}
