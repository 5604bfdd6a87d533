import CloisterCommands

await CloisterCommand.runMain()
