import FuzzTargets

@_cdecl("fuzz_rule_file_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("rule-file", argc, argv)
}
