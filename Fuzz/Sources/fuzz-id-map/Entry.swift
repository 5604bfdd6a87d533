import FuzzTargets

@_cdecl("fuzz_id_map_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("id-map", argc, argv)
}
