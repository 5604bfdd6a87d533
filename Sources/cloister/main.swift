import CloisterCommands

CloisterCommand.runMain()
