import Foundation
import Testing

@testable import CouponKit

@Suite("Definition loader")
struct DefinitionLoaderTests {
    @Test func validateChecksOnlyTheGivenFilesAgainstTheDirectorysTemplates() throws {
        let fixture = try DefinitionFixture([
            "good.yaml": JobYAML.issue("segment: everyone\ncoupons: [{template: recall-7d}]", name: "good"),
            "broken.yaml": "name: broken\nkind: ???\n",
        ])
        let deployment = try DefinitionLoader.validate(files: [fixture.path("good.yaml")], directory: fixture.jobs)
        #expect(deployment.jobs.map(\.name) == ["good"])
        #expect(deployment.templates.count == 3)
        #expect(
            fixture.validateErrors(["broken.yaml"]) == [
                "jobs/broken.yaml:1:1: schedule: required field is missing (or set manual_only: true)",
                "jobs/broken.yaml:2:7: kind: unknown kind \"???\" (expected one of issue, noop, remind, expire, bundle, prune)",
            ])
    }

    @Test func validateUsesAGivenTemplatesFileInsteadOfTheDirectorys() throws {
        let fixture = try DefinitionFixture([
            "job.yaml": JobYAML.issue("segment: everyone\ncoupons: [{template: recall-7d}]"),
            "next/templates.yaml": "templates:\n  - {key: other, type: cash, off_fen: 5, validity: {days: 1}}\n",
        ])
        #expect(
            fixture.validateErrors(["next/templates.yaml", "job.yaml"]) == [
                "jobs/job.yaml:5:22: coupons[0].template: unknown template \"recall-7d\""
            ])
        let onlyTemplates = try DefinitionLoader.validate(
            files: [fixture.path("next/templates.yaml")], directory: fixture.jobs)
        #expect(onlyTemplates.templates.keys.sorted() == ["other"])
        #expect(onlyTemplates.jobs.isEmpty)
    }

    @Test func validateReportsDuplicateNamesAmongTheGivenFiles() throws {
        let fixture = try DefinitionFixture([
            "a.yaml": "name: same\nkind: noop\nmanual_only: true\n",
            "b.yaml": "name: same\nkind: noop\nmanual_only: true\n",
        ])
        #expect(
            fixture.validateErrors(["b.yaml", "a.yaml"]) == [
                "jobs/a.yaml:1:7: name: duplicate job name \"same\" (already defined in jobs/b.yaml)"
            ])
    }

    @Test func validateReadsAFileGivenTwiceOnce() throws {
        let fixture = try DefinitionFixture(["a.yaml": "name: a\nkind: noop\nmanual_only: true\n"])
        let deployment = try DefinitionLoader.validate(
            files: [fixture.path("a.yaml"), fixture.path("a.yaml")], directory: fixture.jobs)
        #expect(deployment.jobs.map(\.name) == ["a"])
    }

    @Test func validateReportsAGivenFileThatDoesNotExist() throws {
        let fixture = try DefinitionFixture([:])
        #expect(fixture.validateErrors(["nope.yaml"]) == ["jobs/nope.yaml: cannot read file (no such file)"])
    }

    @Test func loadingAMissingDirectoryFails() throws {
        let fixture = try DefinitionFixture([:])
        do {
            _ = try DefinitionLoader.load(directory: fixture.root + "/absent")
            Issue.record("expected an error")
        } catch {
            #expect(fixture.lines(error) == ["absent: cannot read the jobs directory"])
        }
    }

    @Test func errorFileNamesAreThePathsAsGiven() throws {
        let fixture = try DefinitionFixture(["a.yaml": "name: a\nkind: noop\n"])
        do {
            _ = try DefinitionLoader.load(directory: fixture.jobs + "/")
            Issue.record("expected an error")
        } catch {
            #expect(error.errors.map(\.file) == [fixture.jobs + "/a.yaml"])
            #expect(error.errors.first?.path == "schedule")
            #expect(error.errors.first?.line == 1)
            #expect(error.errors.first?.column == 1)
        }
    }

    @Test func templatesYamlAndYmlTogetherConflict() throws {
        let fixture = try DefinitionFixture([
            "templates.yml": "templates: []\n"
        ])
        #expect(
            fixture.loadErrors() == [
                "jobs/templates.yml: templates.yml conflicts with \(fixture.jobs)/templates.yaml; keep only one of them"
                    .replacingOccurrences(of: fixture.root + "/", with: "")
            ])
    }

    @Test func plansYmlIsReadAsPlans() throws {
        let fixture = try DefinitionFixture([
            "plans.yml": "plans:\n  - {key: p, price_fen: 100, coupons: [{template: recall-7d}]}\n"
        ])
        #expect(try fixture.load().plans["p"]?.priceFen == 100)
    }

    @Test func subdirectoriesAreNotJobFiles() throws {
        let fixture = try DefinitionFixture([
            "lists/broken.yaml": "this is: [not a job",
            "a.yaml": "name: a\nkind: noop\nmanual_only: true\n",
        ])
        #expect(try fixture.load().jobs.map(\.name) == ["a"])
    }

    @Test func notUTF8IsReported() throws {
        let fixture = try DefinitionFixture([:])
        try Data([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0xfe]).write(
            to: URL(fileURLWithPath: fixture.path("bin.yaml")))
        #expect(fixture.loadErrors() == ["jobs/bin.yaml: not UTF-8 text"])
    }

    @Test func aLoadedDeploymentEqualsItselfLoadedAgain() throws {
        let fixture = try DefinitionFixture([
            "a.yaml": JobYAML.issue("segment: {tier: gold}\ncoupons: [{template: vip-2000-300}]")
        ])
        let first = try fixture.load()
        let second = try fixture.load()
        #expect(first == second)
        #expect(first.templates["vip-2000-300"]?.fingerprint == second.templates["vip-2000-300"]?.fingerprint)
    }
}
