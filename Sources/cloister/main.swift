import CloisterCommands

await CloisterCommand.main()
