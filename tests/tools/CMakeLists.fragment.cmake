# Golden-file tests: plugin_feed drives one plugin with a fixed synthetic run
# (tests/tools/plugin_feed.c), and tests/integration/test_golden.py compares its output
# byte for byte with tests/golden/. Included from tests/CMakeLists.txt AFTER the
# "integration" test is added (it appends to that test's environment).
add_executable(plugin_feed "${CMAKE_CURRENT_LIST_DIR}/plugin_feed.c")
target_link_libraries(plugin_feed PRIVATE drcore ${CMAKE_DL_LIBS})

# Needs no database: runnable alone with `ctest -R golden`. The integration suite
# discovers test_golden.py as well, so it gets the driver's path too.
add_test(NAME golden
  COMMAND ${DR_PYTHON} -m unittest -v test_golden
  WORKING_DIRECTORY "${CMAKE_CURRENT_LIST_DIR}/../integration")
set_tests_properties(golden PROPERTIES
  ENVIRONMENT "DYNOREPORT_PLUGIN_FEED=$<TARGET_FILE:plugin_feed>;DYNOREPORT_BUILD_PLUGIN_DIR=${DR_BUILD_PLUGIN_DIR};DYNOREPORT_GOLDEN_DIR=${PROJECT_SOURCE_DIR}/tests/golden"
  TIMEOUT 300)
set_property(TEST integration APPEND PROPERTY ENVIRONMENT
  "DYNOREPORT_PLUGIN_FEED=$<TARGET_FILE:plugin_feed>"
  "DYNOREPORT_GOLDEN_DIR=${PROJECT_SOURCE_DIR}/tests/golden")
