// Runs every Qt Test class of flux_ui_tests in one QApplication (offscreen); the exit code counts failed classes.
#include <QApplication>
#include <QStandardPaths>
#include <QTemporaryDir>

#include <cstdio>
#include <string_view>
#include <utility>
#include <vector>

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
  // `flux_ui_tests NeedleGridTest [Qt Test args]` runs one class; without a class name, all of them.
  const std::vector<std::pair<const char*, int (*)(int, char**)>> classes = {
      {"RunComparisonTest", runRunComparisonTest},
      {"TrustedComparisonTest", runTrustedComparisonTest},
      {"LayerTableModelTest", runLayerTableModelTest},
      {"HaystackPromptTest", runHaystackPromptTest},
      {"ProgressTextTest", runProgressTextTest},
      {"TextDiffTest", runTextDiffTest},
      {"TokenOutputViewTest", runTokenOutputViewTest},
      {"ComparisonExportTest", runComparisonExportTest},
      {"MainWindowSettingsTest", runMainWindowSettingsTest},
      {"MainWindowTest", runMainWindowTest},
      {"ModelLoadTest", runModelLoadTest},
      {"RouterUiTest", runRouterUiTest},
      {"BlockMaskViewTest", runBlockMaskViewTest},
      {"AttentionMemoryRunTest", runAttentionMemoryRunTest},
      {"RoutingParamsTest", runRoutingParamsTest},
      {"RunPersistenceTest", runRunPersistenceTest},
      {"AppBugsTest", runAppBugsTest},
      {"NeedleGridTest", runNeedleGridTest},
      {"ComparisonBaselinesTest", runComparisonBaselinesTest},
      {"HostileTextTest", runHostileTextTest},
  };
  const char* only = argc > 1 && std::string_view(argv[1]).ends_with("Test") ? argv[1] : nullptr;
  // QApplication keeps argc/argv: the classes get a copy without the class name.
  std::vector<char*> args(argv, argv + argc);
  if (only) args.erase(args.begin() + 1);
  int n_args = int(args.size());
  int failed = 0, matched = 0;
  for (const auto& [name, test] : classes) {
    if (only && std::string_view(name) != only) continue;
    ++matched;
    fresh_runs();
    failed += test(n_args, args.data()) != 0;
  }
  if (only && matched == 0) {
    std::fprintf(stderr, "no test class %s\n", only);
    return 1;
  }
  return failed;
}
