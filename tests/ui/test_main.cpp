// Runs every Qt Test class of flux_ui_tests in one QApplication (offscreen); the exit code counts failed classes.
#include <QApplication>
#include <QStandardPaths>
#include <QTemporaryDir>

#include "tests/ui/ui_tests.h"
#include "ui/engine_worker.h"

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
  int failed = 0;
  failed += runRunComparisonTest(argc, argv) != 0;
  failed += runLayerTableModelTest(argc, argv) != 0;
  failed += runHaystackPromptTest(argc, argv) != 0;
  failed += runProgressTextTest(argc, argv) != 0;
  failed += runTextDiffTest(argc, argv) != 0;
  failed += runTokenOutputViewTest(argc, argv) != 0;
  failed += runComparisonExportTest(argc, argv) != 0;
  failed += runMainWindowSettingsTest(argc, argv) != 0;
  failed += runMainWindowTest(argc, argv) != 0;
  failed += runModelLoadTest(argc, argv) != 0;
  failed += runRouterUiTest(argc, argv) != 0;
  failed += runBlockMaskViewTest(argc, argv) != 0;
  failed += runAttentionMemoryRunTest(argc, argv) != 0;
  return failed;
}
