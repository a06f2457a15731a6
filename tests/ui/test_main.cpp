// Runs every Qt Test class of flux_ui_tests in one QApplication (offscreen); the exit code counts failed classes.
#include <QApplication>
#include <QStandardPaths>
#include <QTemporaryDir>

#include "tests/ui/ui_tests.h"
#include "ui/engine_worker.h"
#include "ui/run_store.h"

int main(int argc, char** argv) {
  qputenv("QT_QPA_PLATFORM",
          qgetenv("QT_QPA_PLATFORM").isEmpty() ? QByteArray("offscreen") : qgetenv("QT_QPA_PLATFORM"));
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("FluxScopeTests"));
  QApplication::setApplicationName(QStringLiteral("FluxScopeTests"));
  QStandardPaths::setTestModeEnabled(true);
  // Keep the real router shipped in resources/routers out of the suites: they test the app without a router,
  // router_ui_test points its windows at its own router dir.
  QTemporaryDir no_routers;
  flux::ui::EngineWorker::setDefaultRouterDirs({std::filesystem::path(no_routers.path().toStdString())});
  // Every class starts with an empty runs folder of its own (the history is persisted): no class sees another's runs.
  QTemporaryDir runs;
  int n_class = 0;
  const auto fresh_runs = [&] {
    flux::ui::RunStore::setDefaultFolder(runs.filePath(QStringLiteral("class-%1").arg(++n_class)));
  };
  int failed = 0;
  const auto run = [&](int (*test)(int, char**)) {
    fresh_runs();
    failed += test(argc, argv) != 0;
  };
  run(runRunComparisonTest);
  run(runTrustedComparisonTest);
  run(runLayerTableModelTest);
  run(runHaystackPromptTest);
  run(runProgressTextTest);
  run(runTextDiffTest);
  run(runTokenOutputViewTest);
  run(runComparisonExportTest);
  run(runMainWindowSettingsTest);
  run(runMainWindowTest);
  run(runModelLoadTest);
  run(runRouterUiTest);
  run(runBlockMaskViewTest);
  run(runAttentionMemoryRunTest);
  run(runRoutingParamsTest);
  run(runRunPersistenceTest);
  run(runAppBugsTest);
  return failed;
}
