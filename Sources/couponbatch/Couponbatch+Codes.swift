import ArgumentParser
import CouponKit
import Foundation
import Postgres

extension Couponbatch {
    struct Codes: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify coupon codes.", subcommands: [Verify.self])

        struct Verify: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Say whether a code is genuine (exit 0, with its coupon id) or forged (exit 65).",
                discussion: """
                    Needs the code secret: COUPONBATCH_CODE_SECRET, or a file named by \
                    COUPONBATCH_CODE_SECRET_FILE (older keys: COUPONBATCH_CODE_SECRET_V<n>). The check \
                    needs no database; when one is reachable the coupon's state is shown too.
                    """)

            @OptionGroup var global: GlobalOptions

            @Argument(help: "The code, e.g. 2K3Q-M9XD-2VHA-PT4E-8RWD (dashes and case do not matter).")
            var code: String

            func run() throws {
                _ = global.makeLogger()
                let codec = CouponCodec(keyring: try CodeSecret.fromEnvironment())
                switch codec.verify(code) {
                case .valid(let couponID, let keyVersion):
                    print("valid: coupon \(couponID) (key version \(keyVersion))")
                    if global.resolvedDatabaseURL != nil, let connection = try? global.connect(),
                        let found = try? CouponState.find(id: couponID, connection)
                    {
                        print(
                            "coupon \(couponID): template \(found.templateKey), member \(found.memberID), \(found.status), "
                                + "expires \(global.timeFormat.format(found.expiresAt, jobZone: nil))")
                    }
                case .malformed(let reason):
                    // The reason already reads "not a coupon code: …".
                    throw InputError(reason)
                case .forged:
                    throw InputError("forged: this code was not issued by this deployment")
                }
            }
        }
    }

    struct Coupons: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Work with issued coupons.", subcommands: [Export.self])

        struct Export: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Stream a run's coupons (member, code, value, validity) as CSV or NDJSON, in bounded memory.")

            @OptionGroup var global: GlobalOptions

            @Option(name: .customLong("run"), help: "The run whose coupons to export.")
            var runID: Int64

            @Option(help: "csv or ndjson.")
            var format: String = "csv"

            func validate() throws {
                guard CouponExporter.Format(rawValue: format) != nil else {
                    throw ValidationError("--format must be csv or ndjson")
                }
            }

            func run() throws {
                _ = global.makeLogger()
                let codec = CouponCodec(keyring: try CodeSecret.fromEnvironment())
                let exporter = CouponExporter(codec: codec, format: CouponExporter.Format(rawValue: format) ?? .csv)
                var buffer = Data()
                buffer.reserveCapacity(1 << 16)
                let out = FileHandle.standardOutput
                try exporter.export(runID: runID, try global.connect()) { line in
                    buffer.append(contentsOf: line.utf8)
                    if buffer.count >= 1 << 16 {
                        out.write(buffer)
                        buffer.removeAll(keepingCapacity: true)
                    }
                }
                out.write(buffer)
            }
        }
    }
}
