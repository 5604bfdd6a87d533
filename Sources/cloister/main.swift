import CloisterCommands

await CloisterCommand.runAsync()
