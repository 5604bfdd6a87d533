import ArgumentParser
import CloisterSystem
import Foundation

public struct CloisterCommand: AsyncParsableCommand {
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
            ProfileCommand.self,
            LearnCommand.self,
            SeccompExecCommand.self,
            ServeCommand.self,
        ])
    public init() {}

    /// Process-wide hardening that must happen before any thread starts: `scan` keeps only the
    /// capabilities reading needs (see `Privileges`). Other commands are left as they are.
    public static func prepareProcess() {
        let command = try? parseAsRoot()
        if let scan = command as? ScanCommand { scan.dropPrivileges() }
        if let serve = command as? ServeCommand { serve.dropPrivileges() }
    }

    /// Runs the command line. Usage and input errors exit 2 (the contract), not
    /// ArgumentParser's default 64; `ExitCode` thrown by a command (the CI gate) passes through.
    public static func runMain() async {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .success { Self.exit(withError: error) }
            writeStandardError(fullMessage(for: error) + "\n")
            ProcessExit.now(2)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ExitCode {
            Self.exit(withError: error)
        } catch let error as CLIError {
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

func writeStandardError(_ text: String) { StandardError.write(text) }
