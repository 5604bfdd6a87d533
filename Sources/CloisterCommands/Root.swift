import ArgumentParser
import CloisterPipeline
import CloisterSystem
import Foundation

public struct CloisterCommand: CloisterSubcommand {
    public static let configuration = CommandConfiguration(
        commandName: "cloister",
        abstract: "Linux isolation advisor and hardening scanner.",
        discussion: "Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error.",
        version: "0.1.0",
        subcommands: [
            ScanCommand.self,
            LaunchCommand.self,
            AdviseCommand.self,
            RulesCommand.self,
            CheckCommand.self,
            ReportCommand.self,
            ProfileCommand.self,
            LearnCommand.self,
            SeccompExecCommand.self,
            ServeCommand.self,
        ])
    public init() {}

    /// Process-wide hardening that must happen before any thread starts, asked of the parsed
    /// command (`scan` and `serve` keep only the capabilities they need; see `Privileges`).
    public static func prepareProcess() {
        guard let parsed = try? parseAsRoot() else { return }
        subcommand(parsed)?.prepareProcess()
    }

    /// Runs the command line. Usage and input errors exit 2 (the contract), not
    /// ArgumentParser's default 64; `ExitCode` thrown by a command (the CI gate) passes through.
    public static func runMain() async {
        var parsed: any ParsableCommand
        do {
            parsed = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .success { Self.exit(withError: error) }
            writeStandardError(fullMessage(for: error) + "\n")
            ProcessExit.now(2)
        }
        do {
            if var command = subcommand(parsed) {
                try await command.run()
            } else {
                // ArgumentParser's own `help`: its run prints the help asked for.
                try parsed.run()
            }
        } catch let error as ExitCode {
            Self.exit(withError: error)
        } catch let error as CLIError {
            writeStandardError("cloister: \(error.description)\n")
            ProcessExit.now(2)
        } catch let error as PipelineInputError {
            writeStandardError("cloister: \(error.description)\n")
            ProcessExit.now(2)
        } catch let error as ValidationError {
            writeStandardError("cloister: \(error.message)\n")
            ProcessExit.now(2)
        } catch {
            // Help and version requests arrive as errors from ArgumentParser's own help
            // command: let it print them and exit 0.
            if exitCode(for: error) == .success { Self.exit(withError: error) }
            let message = error is LocalizedError ? (error as? LocalizedError)?.errorDescription : nil
            writeStandardError("cloister: \(message ?? String(describing: error))\n")
            ProcessExit.now(2)
        }
    }
}

/// A command of cloister's tree: every one runs asynchronously, so `runMain` runs any of them
/// the same way, and each may ask for process-wide hardening before threads start.
protocol CloisterSubcommand: AsyncParsableCommand {
    /// Runs while the process has one thread: capabilities are per thread, and only threads
    /// started after a drop inherit it. Most commands need nothing.
    func prepareProcess()
}

extension CloisterSubcommand {
    func prepareProcess() {}
}

extension CloisterCommand {
    /// ArgumentParser returns the parse untyped: every command in the tree is a
    /// `CloisterSubcommand` (the root too, for its help), and only ArgumentParser's `help` is not.
    /// The one place the parse is typed, so dispatch is by protocol, never by command.
    static func subcommand(_ parsed: any ParsableCommand) -> (any CloisterSubcommand)? {
        parsed as? any CloisterSubcommand
    }
}

func writeStandardError(_ text: String) { StandardError.write(text) }
