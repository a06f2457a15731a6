// MainWindow without a model: run parameters, the plan, the window state (docks), the palette, the backend and the
// recent models survive a close/reopen through QSettings; a dropped .txt becomes the prompt, a dropped .gguf is
// opened as a model (a corrupt one gives the engine's error); Run stays disabled until a model is loaded.
#include <QApplication>
#include <QDockWidget>
#include <QDropEvent>
#include <QMenu>
#include <QMenuBar>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>

#include "tests/ui/ui_tests.h"
#include "ui/layer_map_widget.h"
#include "ui/layer_table_model.h"
#include "ui/main_window.h"
#include "ui/run_controls.h"

class MainWindowSettingsTest : public QObject {
  Q_OBJECT
 private slots:
  void settingsSurviveRestart() {
    {
      flux::ui::MainWindow w;
      w.runControls()->maxTokens()->setValue(77);
      w.layerMap()->setPreset(QStringLiteral("first-k:5"));
      QVERIFY(w.layerMap()->setSparseKind(QStringLiteral("triangle")));
      w.close();  // closeEvent saves
    }
    flux::ui::MainWindow w;
    QCOMPARE(w.runControls()->maxTokens()->value(), 77);
    QCOMPARE(w.layerModel()->preset(), QStringLiteral("first-k:5"));
    QCOMPARE(w.layerModel()->sparse().mode, flux::engine::AttentionMode::Triangle);
    w.layerMap()->setPreset(QStringLiteral("fa"));
    QVERIFY(w.layerMap()->setSparseKind(QStringLiteral("streaming")));
    w.runControls()->maxTokens()->setValue(128);
    w.close();
  }

  void windowStateRecentModelsAndPaletteSurviveRestart() {
    QSettings().setValue(QStringLiteral("recentModels"),
                         QStringList{QStringLiteral("/models/a.gguf"), QStringLiteral("/models/b")});
    {
      flux::ui::MainWindow w;
      w.show();
      QVERIFY(QTest::qWaitForWindowExposed(&w));
      w.findChild<QDockWidget*>(QStringLiteral("historyDock"))->hide();
      w.setDark(true);
      w.setBackend(QStringLiteral("cpu"));
      w.close();
    }
    flux::ui::MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(!w.findChild<QDockWidget*>(QStringLiteral("historyDock"))->isVisible());
    QVERIFY(w.findChild<QDockWidget*>(QStringLiteral("layerMapDock"))->isVisible());
    QVERIFY(w.isDark());
    QCOMPARE(w.backend(), QStringLiteral("cpu"));
    QStringList recent;
    for (QMenu* m : w.menuBar()->findChildren<QMenu*>())
      if (m->title() == QStringLiteral("&Recent Models"))
        for (QAction* a : m->actions()) recent << a->text();
    QCOMPARE(recent, (QStringList{QStringLiteral("/models/a.gguf"), QStringLiteral("/models/b")}));
    // Back to the defaults for the other suites.
    w.findChild<QDockWidget*>(QStringLiteral("historyDock"))->show();
    w.setDark(false);
    w.setBackend(QStringLiteral("auto"));
    w.close();
    QSettings().remove(QStringLiteral("recentModels"));
  }

  void droppedGgufIsOpened() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("broken.gguf"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("GGUF but not really");
    f.close();
    flux::ui::MainWindow w;
    w.setErrorDialogs(false);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QSignalSpy errors(&w, &flux::ui::MainWindow::errorShown);
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(path)});
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &drop);
    QVERIFY(w.isLoading());
    QVERIFY(errors.wait(60'000));
    QVERIFY2(errors.first().at(0).toString().contains(QStringLiteral("broken.gguf")),
             qPrintable(errors.first().at(0).toString()));
    QVERIFY(!w.isLoading());
  }

  void lastModelIsReopened() {
    QTemporaryDir dir;
    flux::ui::MainWindow w;
    w.setErrorDialogs(false);
    QSettings().setValue(QStringLiteral("lastModel"), dir.filePath(QStringLiteral("gone.gguf")));
    QVERIFY(!w.openLastModel());  // deleted since: nothing happens
    QVERIFY(!w.isLoading());
    const QString path = dir.filePath(QStringLiteral("last.gguf"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("not a model");
    f.close();
    QSettings().setValue(QStringLiteral("lastModel"), path);
    QSignalSpy errors(&w, &flux::ui::MainWindow::errorShown);
    QVERIFY(w.openLastModel());
    QVERIFY(w.isLoading());
    QVERIFY(errors.wait(60'000));
    QVERIFY(errors.first().at(0).toString().contains(QStringLiteral("last.gguf")));
    QSettings().remove(QStringLiteral("lastModel"));
  }

  void droppedTextBecomesThePrompt() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("prompt.txt"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("What is sparse attention?");
    f.close();
    flux::ui::MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(path)});
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &drop);
    const auto edits = w.findChildren<QPlainTextEdit*>();
    bool found = false;
    for (auto* e : edits) found |= e->toPlainText() == QStringLiteral("What is sparse attention?");
    QVERIFY(found);
    QVERIFY(!w.isRunning());
    w.startRun();  // no model: ignored, nothing queued
    QVERIFY(!w.isRunning());
  }
};

int runMainWindowSettingsTest(int argc, char** argv) {
  MainWindowSettingsTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "main_window_settings_test.moc"
