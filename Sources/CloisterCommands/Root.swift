import ArgumentParser

public struct CloisterCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cloister",
        abstract: "Linux isolation advisor and hardening scanner.",
        subcommands: [CheckCommand.self])
    public init() {}
}
