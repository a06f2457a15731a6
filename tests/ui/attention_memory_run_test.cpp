// Issue 15 points 1-3 on real runs of the demo model: an XAttention run's recorded selection is what the heatmap
// draws (every layer, cell by cell) and picking a row in the layer map picks its map; density and attention-only
// time per layer in the map, the charts and the HTML/PDF report equal the report; the Memory panel's totals equal
// the report's memory, and the estimate shown before a run equals the KV the run measured (all-FA and all-SA
// streaming). FLUX_UI_GRAB_DIR=<dir> saves the window with the attention map and the memory panel as PNGs.
#include <QComboBox>
#include <QDockWidget>
#include <QFile>
#include <QFileInfo>
#include <QItemSelectionModel>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include "tests/ui/loaded_window.h"
#include "tests/ui/ui_tests.h"
#include "ui/attention_map_panel.h"
#include "ui/block_mask_raster.h"
#include "ui/block_mask_view.h"
#include "ui/layer_map_widget.h"
#include "ui/layer_table_model.h"
#include "ui/main_window.h"
#include "ui/memory_panel.h"
#include "ui/run_controls.h"
#include "ui/timing_charts.h"

using flux::engine::LayerMode;
using flux::engine::RunReport;
using flux::ui::LayerTableModel;
using flux::ui::MemoryPanel;

namespace {

constexpr int kLoadTimeoutMs = 180'000;
constexpr int kRunTimeoutMs = 300'000;
const QString kModel = flux::test::kDemoModel;

QString samplePrompt() {
  QFile f(QStringLiteral(":/prompts/long_article.txt"));
  return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

void grab(QMainWindow* w, const char* dock, const QString& name) {
  const QString dir = qEnvironmentVariable("FLUX_UI_GRAB_DIR");
  if (dir.isEmpty()) return;
  if (auto* d = w->findChild<QDockWidget*>(QString::fromLatin1(dock))) {
    d->show();
    d->raise();
  }
  QTest::qWait(300);  // layouts settle, rasters arrive
  w->grab().save(dir + QLatin1Char('/') + name);
}

}  // namespace

class AttentionMemoryRunTest : public QObject {
  Q_OBJECT

 private:
  std::unique_ptr<flux::ui::MainWindow> w_;

  RunReport runOnce(int max_new_tokens) { return flux::test::runOnce(*w_, kRunTimeoutMs, max_new_tokens); }

  // Waits for the memory estimate of the plan and prompt set right before (the last one when several arrive).
  bool waitEstimate(QSignalSpy& shown) {
    if (!shown.wait(60'000)) return false;
    while (shown.wait(1'500)) {
    }
    return w_->memoryPanel()->hasEstimate();
  }

 private slots:
  void initTestCase() {
    if (!QFileInfo::exists(kModel))
      QFAIL(qPrintable(QStringLiteral("missing %1: run tools/fetch-demo-model.sh").arg(kModel)));
    w_ = std::make_unique<flux::ui::MainWindow>();
    w_->setErrorDialogs(false);
    w_->show();
    QSignalSpy ready(w_.get(), &flux::ui::MainWindow::modelReady);
    w_->openModel(kModel);
    QVERIFY(ready.wait(kLoadTimeoutMs));
    QCOMPARE(w_->layerModel()->rowCount(), 30);
  }

  void xattentionSelectionIsDrawnAsRecorded() {
    QVERIFY(w_->layerMap()->setSparseKind(QStringLiteral("xattn")));
    w_->setRoute(QStringLiteral("sa"), QString());
    const QString prompt = samplePrompt();
    QVERIFY(prompt.size() > 5'000);
    w_->setPrompt(prompt);
    const RunReport r = runOnce(2);
    QCOMPARE(QString::fromStdString(r.status), QStringLiteral("ok"));
    QCOMPARE(int(r.layers.size()), 30);
    QVERIFY(r.prompt_tokens > 1'000);
    flux::ui::AttentionMapPanel* panel = w_->attentionMap();
    QTableView* map = w_->layerMap()->view();
    LayerTableModel* m = w_->layerModel();
    double min_density = 1.0, max_density = 0.0;
    for (const auto& l : r.layers) {
      QCOMPARE(QString::fromStdString(l.attention), QStringLiteral("xattn"));
      QVERIFY2(l.block_mask != nullptr, "an XAttention layer's selection is recorded in the report");
      const flux::engine::BlockMask& recorded = *l.block_mask;
      // Selecting the row in the layer map picks the layer in the heatmap.
      map->selectionModel()->setCurrentIndex(m->index(l.index, 0), QItemSelectionModel::ClearAndSelect);
      QCOMPARE(panel->layer(), l.index);
      QCOMPARE(panel->layerPicker()->currentData().toInt(), l.index);
      flux::ui::BlockMaskView* view = panel->view();
      if (view->rasterPending()) {
        QSignalSpy ready(view, &flux::ui::BlockMaskView::rasterReady);
        QVERIFY(ready.wait(30'000));
      }
      const flux::ui::MaskRaster& raster = view->raster();
      QCOMPARE(raster.width, recorded.n_kv_blocks);  // 1:1 at this prompt length
      QCOMPARE(raster.height, recorded.n_q_blocks);
      QCOMPARE(raster.n_heads, recorded.n_heads);
      for (int q = 0; q < recorded.n_q_blocks; ++q) {
        // Expected row straight from the recorded CSR.
        std::vector<int> want(std::size_t(recorded.n_kv_blocks), flux::ui::kNotCausal);
        for (int k = 0; k < recorded.causal_end(q); ++k) want[std::size_t(k)] = 0;
        const auto kv = recorded.row(q);
        const auto heads = recorded.row_heads(q);
        for (std::size_t i = 0; i < kv.size(); ++i) want[std::size_t(kv[i])] = heads[i];
        for (int k = 0; k < recorded.n_kv_blocks; ++k) QCOMPARE(raster.cell(k, q), want[std::size_t(k)]);
      }
      // Density: the map's column and the bar chart say what the report says.
      QCOMPARE(m->data(m->index(l.index, LayerTableModel::ColDensity), LayerTableModel::RawRole).toDouble(), l.density);
      QCOMPARE(panel->densityValues()[l.index], l.density);
      min_density = std::min(min_density, l.density);
      max_density = std::max(max_density, l.density);
    }
    qInfo("xattn run: %d prompt tokens, %d x %d blocks, %d heads; density %.3f .. %.3f", r.prompt_tokens,
          r.layers[0].block_mask->n_q_blocks, r.layers[0].block_mask->n_kv_blocks, r.layers[0].block_mask->n_heads,
          min_density, max_density);
    map->selectionModel()->setCurrentIndex(m->index(12, 0), QItemSelectionModel::ClearAndSelect);
    grab(w_.get(), "attentionDock", QStringLiteral("attention-map.png"));

    // Point 3 on the same run: the attention op's own time per layer in the chart, the map and the report.
    double attention_total = 0.0;
    for (const auto& l : r.layers) {
      QVERIFY2(l.attention_ms > 0.0 && l.attention_ms <= l.prefill_ms, "the engine times the attention op");
      QCOMPARE(w_->charts()->attentionValues(LayerMode::SA)[l.index], l.attention_ms);
      QCOMPARE(w_->charts()->routerValues()[l.index], l.router_ms);
      QCOMPARE(w_->charts()->restValues()[l.index], l.prefill_ms - l.router_ms - l.attention_ms);
      QCOMPARE(m->data(m->index(l.index, LayerTableModel::ColAttentionMs), LayerTableModel::RawRole).toDouble(),
               l.attention_ms);
      attention_total += l.attention_ms;
    }
    QVERIFY(w_->charts()->headline().contains(QStringLiteral("attention %1 ms").arg(attention_total, 0, 'f', 1)));
    QTemporaryDir dir;
    const QString html_path = dir.filePath(QStringLiteral("r.html"));
    QCOMPARE(w_->exportReportTo(html_path), QString());
    QFile html_file(html_path);
    QVERIFY(html_file.open(QIODevice::ReadOnly));
    const QString html = QString::fromUtf8(html_file.readAll());
    QCOMPARE(html.count(QStringLiteral("data:image/png;base64,")), 30);  // every layer's mask
    QVERIFY(html.contains(QStringLiteral("<td>%1</td>").arg(r.layers[7].attention_ms, 0, 'f', 3)));
    QVERIFY(html.contains(QStringLiteral("max-width:100%")));
    QVERIFY(html.contains(QStringLiteral("<tr><th>KV reserved</th><td>%1 (%2 bytes)</td></tr>")
                              .arg(MemoryPanel::formatBytes(r.memory.kv_reserved_total()))
                              .arg(qulonglong(r.memory.kv_reserved_total()))));
    const QString pdf = dir.filePath(QStringLiteral("r.pdf"));
    QCOMPARE(w_->exportReportTo(pdf), QString());
    QFile pdf_file(pdf);
    QVERIFY(pdf_file.open(QIODevice::ReadOnly));
    QVERIFY(pdf_file.read(5) == "%PDF-");
    QVERIFY(QFileInfo(pdf).size() > 20'000);  // pictures inside, not just text
  }

  void memoryEstimateMatchesTheMeasuredRun_data() {
    QTest::addColumn<QString>("preset");
    QTest::newRow("all FA") << QStringLiteral("fa");
    QTest::newRow("all SA streaming") << QStringLiteral("sa");
  }

  void memoryEstimateMatchesTheMeasuredRun() {
    QFETCH(QString, preset);
    flux::engine::AttentionPlan sparse = w_->layerModel()->sparse();
    sparse.mode = flux::engine::AttentionMode::Streaming;
    sparse.sink = 64;
    sparse.window = 256;
    w_->layerMap()->setSparse(sparse);
    QSignalSpy shown(w_->memoryPanel(), &MemoryPanel::estimateShown);
    w_->setRoute(preset, QString());
    w_->runControls()->maxTokens()->setValue(6);
    QString prompt;
    for (int i = 0; i < 25; ++i)
      prompt += QStringLiteral("Sentence %1 of a long prompt about rivers, mountains and the weather. ").arg(i);
    w_->setPrompt(prompt);
    QVERIFY(waitEstimate(shown));
    MemoryPanel* panel = w_->memoryPanel();
    const flux::engine::MemoryReport estimate = panel->estimate();
    QVERIFY(!estimate.measured);
    QCOMPARE(int(estimate.layers.size()), 30);
    const RunReport r = runOnce(6);
    QCOMPARE(QString::fromStdString(r.status), QStringLiteral("ok"));
    const flux::engine::MemoryReport& measured = r.memory;
    QVERIFY(measured.measured);
    QVERIFY(panel->hasMeasured());
    // The panel's totals are the report's.
    const auto cell = [&](int row, int column) {
      return panel->totals()->item(row, column)->data(MemoryPanel::BytesRole).toULongLong();
    };
    QCOMPARE(cell(MemoryPanel::RowWeights, MemoryPanel::ColMeasured), qulonglong(measured.weights));
    QVERIFY(measured.weights > 0);
    QCOMPARE(cell(MemoryPanel::RowKvReserved, MemoryPanel::ColMeasured), qulonglong(measured.kv_reserved_total()));
    QCOMPARE(cell(MemoryPanel::RowKvKept, MemoryPanel::ColMeasured), qulonglong(measured.kv_kept_total()));
    QCOMPARE(cell(MemoryPanel::RowKvRead, MemoryPanel::ColMeasured), qulonglong(measured.kv_read_total()));
    QCOMPARE(cell(MemoryPanel::RowWorkspace, MemoryPanel::ColMeasured), qulonglong(measured.workspace));
    QCOMPARE(cell(MemoryPanel::RowTotal, MemoryPanel::ColMeasured), qulonglong(measured.total()));
    QCOMPARE(cell(MemoryPanel::RowKvAllFa, MemoryPanel::ColMeasured), qulonglong(measured.kv_all_fa));
    QCOMPARE(panel->totals()->item(MemoryPanel::RowSaving, MemoryPanel::ColMeasured)->data(MemoryPanel::BytesRole)
                 .toDouble(),
             measured.kv_saving());
    QCOMPARE(measured.kv_reserved_total(), r.summary.kv_bytes);
    // The estimate shown before the run is the KV the run measured, layer by layer.
    QCOMPARE(cell(MemoryPanel::RowKvReserved, MemoryPanel::ColEstimate), qulonglong(measured.kv_reserved_total()));
    QCOMPARE(estimate.kv_all_fa, measured.kv_all_fa);
    QCOMPARE(int(measured.layers.size()), 30);
    for (int l = 0; l < 30; ++l) {
      const auto& est = estimate.layers[std::size_t(l)];
      const auto& got = measured.layers[std::size_t(l)];
      QCOMPARE(est.kv_reserved, got.kv_reserved);
      QCOMPARE(est.kv_new_tokens, got.kv_new_tokens);
      QCOMPARE(est.evicted, got.evicted);
      QCOMPARE(panel->layers()->item(l, 2)->data(MemoryPanel::BytesRole).toULongLong(), qulonglong(est.kv_reserved));
      QCOMPARE(panel->layers()->item(l, 3)->data(MemoryPanel::BytesRole).toULongLong(), qulonglong(got.kv_reserved));
      QCOMPARE(got.kv_reserved, r.layers[std::size_t(l)].kv_bytes);
    }
    const auto& first = measured.layers.front();
    if (preset == QStringLiteral("fa")) {
      QCOMPARE(measured.kv_saving(), 0.0);
      QVERIFY2(first.kv_new_tokens > 0, "an FA layer reserves rows for the tokens still to come");
      QVERIFY(!first.evicted);
      QCOMPARE(panel->layers()->item(0, 4)->data(MemoryPanel::BytesRole).toULongLong(), qulonglong(first.kv_new_tokens));
    } else {
      QVERIFY2(measured.kv_saving() > 0.0, "streaming layers keep a ring of sink + window");
      QVERIFY(first.evicted);
      QVERIFY(panel->headline().contains(QStringLiteral("less KV than all-FA")));
    }
    qInfo("memory %s: %d prompt tokens; KV estimate %zu B, measured %zu B (all-FA %zu B, saving %.1f%%); weights %zu B",
          qPrintable(preset), r.prompt_tokens, estimate.kv_reserved_total(), measured.kv_reserved_total(),
          measured.kv_all_fa, measured.kv_saving() * 100.0, measured.weights);
    if (preset == QStringLiteral("sa")) grab(w_.get(), "memoryDock", QStringLiteral("memory-panel.png"));
  }

  void cleanupTestCase() { w_.reset(); }
};

int runAttentionMemoryRunTest(int argc, char** argv) {
  AttentionMemoryRunTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "attention_memory_run_test.moc"
