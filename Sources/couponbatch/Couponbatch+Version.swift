import ArgumentParser

extension Couponbatch {
    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print couponbatch's version.")

        func run() {
            print("couponbatch \(CouponbatchVersion.current)")
        }
    }
}
