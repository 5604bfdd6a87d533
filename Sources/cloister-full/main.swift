import CloisterCommands

// Before the first await, while this is the only thread: capabilities are per thread, and only
// threads started after the drop inherit it.
CloisterCommand.prepareProcess()
await CloisterCommand.runMain()
