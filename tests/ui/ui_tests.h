// Entry points of the Qt Test classes linked into flux_ui_tests; each returns QTest::qExec's result.
#pragma once

int runRunComparisonTest(int argc, char** argv);
int runLayerTableModelTest(int argc, char** argv);
int runMainWindowTest(int argc, char** argv);
int runHaystackPromptTest(int argc, char** argv);
int runMainWindowSettingsTest(int argc, char** argv);
int runModelLoadTest(int argc, char** argv);
int runRouterUiTest(int argc, char** argv);
int runProgressTextTest(int argc, char** argv);
int runTextDiffTest(int argc, char** argv);
int runTokenOutputViewTest(int argc, char** argv);
int runComparisonExportTest(int argc, char** argv);
int runTrustedComparisonTest(int argc, char** argv);
int runRoutingParamsTest(int argc, char** argv);
int runRunPersistenceTest(int argc, char** argv);
int runAppBugsTest(int argc, char** argv);
int runBlockMaskViewTest(int argc, char** argv);
int runAttentionMemoryRunTest(int argc, char** argv);
int runNeedleGridTest(int argc, char** argv);
int runComparisonBaselinesTest(int argc, char** argv);
int runHostileTextTest(int argc, char** argv);
