import CloisterCommands

// `await CloisterCommand.main()` here resolves to the synchronous ParsableCommand.main, which in
// debug builds refuses an async root command; name the async entry point explicitly.
let entry: () async -> Void = { await CloisterCommand.main(nil) }
await entry()
