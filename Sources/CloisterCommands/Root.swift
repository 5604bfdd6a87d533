import ArgumentParser

public struct CloisterCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cloister",
        abstract: "Linux isolation advisor and hardening scanner.",
        subcommands: [RulesCommand.self])
    public init() {}
}
