# Golden-file tests: plugin_feed drives one plugin with a fixed synthetic run
# (tests/tools/plugin_feed.c), and tests/integration/test_golden.py compares its output
# byte for byte with tests/golden/. Included from tests/CMakeLists.txt before the
# integration modules are registered: test_golden.py is one of them (integration_golden,
# needs no database, `ctest -R golden`), and DYNOREPORT_PLUGIN_FEED / DYNOREPORT_GOLDEN_DIR
# are in the environment they all share.
add_executable(plugin_feed "${CMAKE_CURRENT_LIST_DIR}/plugin_feed.c")
target_link_libraries(plugin_feed PRIVATE drcore ${CMAKE_DL_LIBS})

# delivery_print: dr_delivery_print (core/delivery.c) on one run, for test_delivery_dir.py
# (DYNOREPORT_DELIVERY_PRINT in the integration environment).
add_executable(delivery_print "${CMAKE_CURRENT_LIST_DIR}/delivery_print.c")
target_link_libraries(delivery_print PRIVATE drcore)
