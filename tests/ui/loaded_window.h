// Test helper of the Qt Tests that drive real runs: a window (no error dialogs) with the demo model loaded and its
// runs folder read (that read runs on a pool thread: history counts start after it).
#pragma once

#include <QSignalSpy>
#include <QTest>

#include <memory>

#include "ui/main_window.h"

namespace flux::test {

inline const QString kDemoModel = QStringLiteral(FLUX_SOURCE_DIR "/models/SmolLM2-135M-Instruct.Q4_1.gguf");

inline std::unique_ptr<ui::MainWindow> loadedDemoWindow(int timeout_ms) {
  auto w = std::make_unique<ui::MainWindow>();
  w->setErrorDialogs(false);
  QSignalSpy ready(w.get(), &ui::MainWindow::modelReady);
  w->openModel(kDemoModel);
  [&] { QVERIFY(ready.wait(timeout_ms)); }();
  [&] { QTRY_VERIFY_WITH_TIMEOUT(w->historyReady(), timeout_ms); }();
  return w;
}

}  // namespace flux::test
