import FuzzTargets

@_cdecl("fuzz_mac_label_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("mac-label", argc, argv)
}
