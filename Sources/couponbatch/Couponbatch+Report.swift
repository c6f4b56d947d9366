import ArgumentParser
import CouponKit
import Foundation

extension Couponbatch {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report what coupons achieved: issued, redeemed, expired, rates, A/B arms and the liability.",
            discussion: """
                Coupon figures count coupons issued in the period (what happened to them since); --by day \
                counts events per day; --by store counts uses in the period. --by segment groups by the \
                member's tier. Arms compare each A/B arm's response (redeemed, or ordered after the run) with \
                the job's holdout, with 95% intervals. The liability is as of now (or --at).
                """)

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case table, csv, json, html
        }

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("First day of the period (YYYY-MM-DD). Default: 29 days before --to.", valueName: "date"))
        var from: String?

        @Option(help: ArgumentHelp("Last day of the period, inclusive (YYYY-MM-DD). Default: today.", valueName: "date"))
        var to: String?

        @Option(help: "Group the main table by day, template, job, arm, store or segment.")
        var by: String = ReportDimension.day.rawValue

        @Option(help: "table, csv, json or html.")
        var format: Format = .table

        @Option(help: ArgumentHelp("Write the report to this file instead of stdout.", valueName: "file"))
        var output: String?

        @Option(help: ArgumentHelp("The zone days are counted in.", valueName: "zone"))
        var timezone: String = DefinitionDefaults.timeZone.identifier

        @Option(help: ArgumentHelp("Share of outstanding face value reserved as liability, in percent.", valueName: "percent"))
        var reservePercent: Double = 20

        @Option(help: ArgumentHelp("Flag a daily metric that moves by more than this, in percent.", valueName: "percent"))
        var alertThreshold: Double = 50

        @Option(help: ArgumentHelp("\"Now\" for the liability (ISO 8601). Default: the database's clock.", valueName: "instant"))
        var at: String?

        func validate() throws {
            for (name, value) in [("--from", from), ("--to", to)] {
                if let value, CalendarDay(value) == nil { throw ValidationError("\(name) must be a date like 2026-11-23") }
            }
            guard ReportDimension(rawValue: by) != nil else {
                throw ValidationError("--by must be one of \(ReportDimension.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard TimeZone(identifier: timezone) != nil else { throw ValidationError("--timezone \(timezone) is not an IANA zone") }
            guard (0...100).contains(reservePercent) else { throw ValidationError("--reserve-percent must be 0 to 100") }
            guard alertThreshold >= 0 else { throw ValidationError("--alert-threshold must be 0 or more") }
            try ISOInstant.validate(at, option: "--at")
        }

        func run() throws {
            _ = global.makeLogger()
            let options = ReportOptions(
                from: from.flatMap(CalendarDay.init), to: to.flatMap(CalendarDay.init),
                timeZone: TimeZone(identifier: timezone) ?? DefinitionDefaults.timeZone,
                by: ReportDimension(rawValue: by) ?? .day, reservePercent: reservePercent,
                alertThreshold: alertThreshold / 100, asOf: at.flatMap(ISOInstant.parse))
            let report = try ReportQueries(options: options).build(try global.connect())
            let text: String
            switch format {
            case .table: text = ReportText.table(report)
            case .csv: text = ReportText.csv(report)
            case .json: text = ReportText.json(report)
            case .html: text = ReportPage.html(report)
            }
            if let output {
                try text.write(toFile: output, atomically: true, encoding: .utf8)
                print(URL(fileURLWithPath: output).standardizedFileURL.path)
            } else {
                FileHandle.standardOutput.write(Data(text.utf8))
            }
        }
    }
}
