// Issue 15 without a model: the attention heatmap's cells at 1:1 equal the plan's block lists (streaming, triangle,
// full), zoomed-out pixels are the max over their blocks, a 1024 x 1024-block mask rasterises off the GUI thread
// (the longest GUI stall is printed, not asserted), hover names the tile, PNG/SVG export; the layer map's density and
// attention-ms columns and the router's greyed opinion on forced layers; the prefill chart's attention / router /
// rest parts.
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QPainter>
#include <QSignalSpy>
#include <QStyleOptionViewItem>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <random>

#include <nlohmann/json.hpp>

#include "engine/attention/block_mask.h"
#include "tests/ui/ui_tests.h"
#include "ui/attention_map_panel.h"
#include "ui/block_mask_raster.h"
#include "ui/block_mask_view.h"
#include "ui/layer_table_model.h"
#include "ui/main_window.h"
#include "ui/prob_bar_delegate.h"
#include "ui/report_export.h"
#include "ui/timing_charts.h"

using flux::engine::AttentionMode;
using flux::engine::AttentionPlan;
using flux::engine::BlockMask;
using flux::engine::LayerMode;
using flux::engine::RunReport;
using flux::ui::MaskRaster;

namespace {

constexpr int kWaitMs = 30'000;

// The expected cell grid at 1:1 straight from the plan's block lists: heads where listed, 0 for a causal tile that
// is not listed, kNotCausal above the diagonal.
std::vector<int> expectedCells(const flux::engine::BlockLists& lists, int heads_per_listed) {
  std::vector<int> cells(std::size_t(lists.n_q_blocks) * std::size_t(lists.n_kv_blocks), flux::ui::kNotCausal);
  for (int q = 0; q < lists.n_q_blocks; ++q) {
    const int diagonal = q + lists.n_kv_blocks - lists.n_q_blocks;
    for (int k = 0; k <= diagonal && k < lists.n_kv_blocks; ++k)
      cells[std::size_t(q) * std::size_t(lists.n_kv_blocks) + std::size_t(k)] = 0;
    for (const int32_t k : lists.row(0, q))
      cells[std::size_t(q) * std::size_t(lists.n_kv_blocks) + std::size_t(k)] = heads_per_listed;
  }
  return cells;
}

// A report of one SA layer of `sparse` and one FA layer over n_tokens tokens (what the app gets from a run).
RunReport staticReport(const AttentionPlan& sparse, int64_t n_tokens) {
  RunReport r;
  r.sparse = sparse;
  r.prompt_tokens = int(n_tokens);
  flux::engine::LayerReport sa;
  sa.index = 0;
  sa.mode = LayerMode::SA;
  sa.attention = flux::engine::attention_mode_name(sparse.mode);
  flux::engine::LayerReport fa;
  fa.index = 1;
  r.layers = {sa, fa};
  return r;
}

// XAttention-like: every row keeps ~90% of its causal blocks (rows up to ~920 entries), heads 1..n_heads.
BlockMask syntheticMask(int n_blocks, int n_heads, uint32_t seed) {
  BlockMask m;
  m.block = 128;
  m.n_q_blocks = m.n_kv_blocks = n_blocks;
  m.n_heads = n_heads;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> keep(0, 9), heads(1, n_heads);
  m.offsets.push_back(0);
  for (int q = 0; q < n_blocks; ++q) {
    for (int k = 0; k <= q; ++k)
      if (k == 0 || k == q || keep(rng) != 0) {
        m.kv_blocks.push_back(k);
        m.heads.push_back(uint16_t(heads(rng)));
      }
    m.offsets.push_back(int32_t(m.kv_blocks.size()));
  }
  return m;
}

bool waitRaster(flux::ui::BlockMaskView* view) {
  if (!view->rasterPending()) return true;
  QSignalSpy ready(view, &flux::ui::BlockMaskView::rasterReady);
  return ready.wait(kWaitMs);
}

}  // namespace

class BlockMaskViewTest : public QObject {
  Q_OBJECT

 private slots:
  void heatmapCellsEqualThePlansBlockLists_data() {
    QTest::addColumn<int>("mode");
    QTest::addColumn<int>("n_tokens");
    QTest::newRow("streaming 20K") << int(AttentionMode::Streaming) << 20'000;
    QTest::newRow("triangle 20K") << int(AttentionMode::Triangle) << 20'000;
    QTest::newRow("streaming token-exact 9000") << int(AttentionMode::Streaming) << 9'000;
  }

  void heatmapCellsEqualThePlansBlockLists() {
    QFETCH(int, mode);
    QFETCH(int, n_tokens);
    AttentionPlan plan;
    plan.mode = AttentionMode(mode);
    plan.sink = 200;
    plan.window = 1500;
    plan.n_last = 300;
    plan.token_exact = n_tokens == 9'000;
    const RunReport report = staticReport(plan, n_tokens);
    flux::ui::AttentionMapPanel panel;
    panel.resize(900, 500);
    panel.show();
    panel.showReport(report);
    for (int layer : {0, 1}) {
      panel.selectLayer(layer);
      QCOMPARE(panel.layer(), layer);
      flux::ui::BlockMaskView* view = panel.view();
      QVERIFY(waitRaster(view));
      const MaskRaster& r = view->raster();
      AttentionPlan ran = plan;
      if (layer == 1) ran = AttentionPlan{};  // the FA layer ran report.dense (full)
      const flux::engine::BlockLists lists = flux::engine::build_block_lists(ran, n_tokens);
      // At 1:1 (157 blocks fit in the plot): one pixel per block, the whole mask.
      QVERIFY2(view->plotRect().width() >= lists.n_kv_blocks, "the test needs a 1:1 view");
      QCOMPARE(r.width, lists.n_kv_blocks);
      QCOMPARE(r.height, lists.n_q_blocks);
      QCOMPARE(r.region, (flux::ui::MaskRegion{0, lists.n_q_blocks, 0, lists.n_kv_blocks}));
      const std::vector<int> expected = expectedCells(lists, 1);
      int listed = 0;
      for (int q = 0; q < r.height; ++q)
        for (int k = 0; k < r.width; ++k) {
          const int want = expected[std::size_t(q) * std::size_t(r.width) + std::size_t(k)];
          listed += want > 0;
          if (r.cell(k, q) != want)
            QFAIL(qPrintable(QStringLiteral("layer %1 tile q%2 k%3: heatmap %4, block lists %5")
                                 .arg(layer)
                                 .arg(q)
                                 .arg(k)
                                 .arg(r.cell(k, q))
                                 .arg(want)));
        }
      QVERIFY(listed > 0);
      // The colours follow the cells: a computed tile is not the "skipped" grey.
      QCOMPARE(r.image.pixel(0, r.height - 1), flux::ui::maskColor(1, 1, false));
    }
    // The SA layer skips tiles (the band and sink leave gaps at 157 blocks); the FA layer computes all causal ones.
    QVERIFY(panel.densityValues().size() == 2);
  }

  void zoomedOutPixelsAreTheMaxOfTheirBlocks() {
    const BlockMask mask = syntheticMask(300, 9, 7);
    // 300 blocks into 70 x 70 pixels (uneven: 4 or 5 blocks per pixel).
    const MaskRaster r = flux::ui::rasterizeMask(mask, flux::ui::fullRegion(mask), QSize(70, 70));
    QCOMPARE(r.width, 70);
    QCOMPARE(r.height, 70);
    std::vector<int> want(70 * 70, flux::ui::kNotCausal);
    for (int q = 0; q < 300; ++q)
      for (int k = 0; k < mask.causal_end(q); ++k) {
        int& cell = want[std::size_t(q * 70 / 300) * 70 + std::size_t(k * 70 / 300)];
        cell = std::max(cell, flux::ui::maskHeads(mask, q, k));
      }
    for (int y = 0; y < 70; ++y)
      for (int x = 0; x < 70; ++x) QCOMPARE(r.cell(x, y), want[std::size_t(y) * 70 + std::size_t(x)]);
    // A zoomed region: only its blocks, at 1:1.
    const MaskRaster part = flux::ui::rasterizeMask(mask, {100, 140, 20, 60}, QSize(500, 500));
    QCOMPARE(part.width, 40);
    for (int y = 0; y < 40; ++y)
      for (int x = 0; x < 40; ++x) {
        const int q = 100 + y, k = 20 + x;
        QCOMPARE(part.cell(x, y), k < mask.causal_end(q) ? flux::ui::maskHeads(mask, q, k) : flux::ui::kNotCausal);
      }
  }

  void largeMaskDoesNotStallTheGuiThread() {
    QElapsedTimer build;
    build.start();
    auto mask = std::make_shared<const BlockMask>(syntheticMask(1024, 32, 11));
    const qint64 build_ms = build.elapsed();
    QVERIFY(mask->kv_blocks.size() > 400'000);
    std::size_t longest_row = 0;
    for (int q = 0; q < mask->n_q_blocks; ++q) longest_row = std::max(longest_row, mask->row(q).size());
    QVERIFY(longest_row > 900);
    // Straight rasterisation cost (what the worker thread spends), full mask into 800 x 800.
    QElapsedTimer direct;
    direct.start();
    const MaskRaster full = flux::ui::rasterizeMask(*mask, flux::ui::fullRegion(*mask), QSize(800, 800));
    const qint64 direct_ms = direct.elapsed();
    QCOMPARE(full.width, 800);

    // Through the report path the app uses: a recorded XAttention mask of 1024 x 1024 blocks (128K tokens).
    RunReport report;
    report.prompt_tokens = 1024 * 128;
    report.sparse.mode = AttentionMode::XAttention;
    flux::engine::LayerReport l;
    l.mode = LayerMode::SA;
    l.attention = "xattn";
    l.block_mask = mask;  // shared, as the engine does
    report.layers = {l};
    flux::ui::AttentionMapPanel panel;
    panel.resize(1300, 900);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QElapsedTimer since_tick;
    qint64 max_gap = 0;
    QTimer ticker;
    ticker.setInterval(5);
    QObject::connect(&ticker, &QTimer::timeout, [&] { max_gap = std::max(max_gap, since_tick.restart()); });
    since_tick.start();
    ticker.start();
    QElapsedTimer total;
    total.start();
    panel.showReport(report);  // copies the report (its masks are shared), queues the raster
    const qint64 show_ms = total.elapsed();
    QVERIFY(waitRaster(panel.view()));
    const qint64 first_ms = total.elapsed();
    QCOMPARE(panel.view()->raster().region, flux::ui::fullRegion(*mask));
    // The view draws the engine's mask itself: showing (and copying) the report shares it, never copies it.
    QCOMPARE(panel.view()->mask(), mask.get());
    // Ten wheel steps in at the centre, each re-rasterising only the visible part.
    const QPoint centre = panel.view()->plotRect().center();
    for (int i = 0; i < 10; ++i) {
      QWheelEvent wheel(centre, panel.view()->mapToGlobal(centre), QPoint(), QPoint(0, 120), Qt::NoButton,
                        Qt::NoModifier, Qt::NoScrollPhase, false);
      QCoreApplication::sendEvent(panel.view(), &wheel);
      QVERIFY(waitRaster(panel.view()));
    }
    const qint64 zoom_ms = total.elapsed() - first_ms;
    const flux::ui::MaskRegion zoomed = panel.view()->raster().region;
    QVERIFY2(zoomed.cols() < 1024 / 2, "ten wheel steps zoom in");
    QTest::qWait(20);
    ticker.stop();
    qInfo("1024x1024-block mask (%zu listed blocks, longest row %zu, 32 heads): built in %lld ms; rasterised 800x800 "
          "in %lld ms (worker); showReport %lld ms on the GUI thread, first raster shown after %lld ms, ten zoom "
          "steps in %lld ms (now %d x %d blocks); longest GUI-thread stall %lld ms (5 ms ticker)",
          mask->kv_blocks.size(), longest_row, build_ms, direct_ms, show_ms, first_ms, zoom_ms, zoomed.cols(),
          zoomed.rows(), max_gap);
    // Cells still equal the recorded mask in the zoomed region (at 1:1 now).
    const MaskRaster& r = panel.view()->raster();
    QCOMPARE(r.width, zoomed.cols());
    for (int y = 0; y < r.height; ++y)
      for (int x = 0; x < r.width; ++x) {
        const int q = zoomed.q0 + y, k = zoomed.k0 + x;
        QCOMPARE(r.cell(x, y), k < mask->causal_end(q) ? flux::ui::maskHeads(*mask, q, k) : flux::ui::kNotCausal);
      }
  }

  // A report saved by a real run (FLUX_UI_REPORT=<report.json>, e.g. an 8K-token XAttention run of the demo model or
  // a 128K-token GPU run): every layer's map is shown in turn; the longest GUI-thread stall is printed.
  void savedReportRendersWithoutStalling() {
    const QString path = qEnvironmentVariable("FLUX_UI_REPORT");
    if (path.isEmpty()) QSKIP("set FLUX_UI_REPORT to a saved JSON report to measure it");
    QFile f(path);
    QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(path));
    QElapsedTimer load;
    load.start();
    const RunReport report = RunReport::from_json(nlohmann::json::parse(f.readAll().toStdString()));
    const qint64 load_ms = load.elapsed();
    QVERIFY(!report.layers.empty());
    flux::ui::AttentionMapPanel panel;
    panel.resize(1300, 900);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QElapsedTimer since_tick, total;
    qint64 max_gap = 0;
    QTimer ticker;
    ticker.setInterval(5);
    QObject::connect(&ticker, &QTimer::timeout, [&] { max_gap = std::max(max_gap, since_tick.restart()); });
    since_tick.start();
    ticker.start();
    total.start();
    panel.showReport(report);
    const qint64 show_ms = total.elapsed();
    int recorded = 0;
    qint64 select_max_ms = 0;
    for (const auto& l : report.layers) {
      QElapsedTimer select;
      select.start();
      panel.selectLayer(l.index);
      select_max_ms = std::max(select_max_ms, select.elapsed());
      QVERIFY(waitRaster(panel.view()));
      QVERIFY(!panel.view()->raster().isNull());
      recorded += l.block_mask != nullptr;
    }
    const qint64 all_ms = total.elapsed();
    QTest::qWait(20);
    ticker.stop();
    const BlockMask* last = panel.view()->mask();
    if (const QString dir = qEnvironmentVariable("FLUX_UI_GRAB_DIR"); !dir.isEmpty())
      panel.grab().save(dir + QStringLiteral("/saved-report-map.png"));
    // The whole window's path: File → Open Report (parse, history, layer map, charts, both panels).
    flux::ui::MainWindow w;
    w.setErrorDialogs(false);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    if (auto* dock = w.findChild<QDockWidget*>(QStringLiteral("attentionDock"))) dock->raise();
    QCoreApplication::processEvents();
    qint64 window_gap = 0;
    QObject::disconnect(&ticker, nullptr, nullptr, nullptr);
    QObject::connect(&ticker, &QTimer::timeout, [&] { window_gap = std::max(window_gap, since_tick.restart()); });
    since_tick.start();
    ticker.start();
    QElapsedTimer open;
    open.start();
    QCOMPARE(w.openReportFile(path), QString());
    const qint64 open_ms = open.elapsed();
    QVERIFY(waitRaster(w.attentionMap()->view()));
    QTest::qWait(50);
    ticker.stop();
    QCOMPARE(w.attentionMap()->view()->mask()->n_q_blocks, (report.prompt_tokens + 127) / 128);
    qInfo("the same report through File → Open Report in the window: openReportFile %lld ms (parse, history, layer "
          "map, charts, panels on the GUI thread); longest GUI-thread stall %lld ms",
          open_ms, window_gap);
    qInfo("saved report %s: %d prompt tokens, %d layers (%d with a recorded mask), %d x %d blocks; JSON parsed in "
          "%lld ms (not in the window); showReport %lld ms, slowest layer pick %lld ms (GUI thread); all %d maps shown in "
          "%lld ms; longest GUI-thread stall %lld ms (5 ms ticker)",
          qPrintable(QFileInfo(path).fileName()), report.prompt_tokens, int(report.layers.size()), recorded,
          last->n_q_blocks, last->n_kv_blocks, load_ms, show_ms, select_max_ms, int(report.layers.size()), all_ms,
          max_gap);
  }

  void hoverNamesTheTileAndExportWrites() {
    AttentionPlan plan;
    plan.mode = AttentionMode::Streaming;
    plan.sink = 128;
    plan.window = 512;
    flux::ui::AttentionMapPanel panel;
    panel.resize(900, 500);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    panel.showReport(staticReport(plan, 4000));
    flux::ui::BlockMaskView* view = panel.view();
    QVERIFY(waitRaster(view));
    const QRect plot = view->plotRect();
    const QPoint pos(plot.left() + 2, plot.bottom() - 2);  // the sink column, last query block
    int q = -1, k = -1;
    QVERIFY(view->blockAt(pos, &q, &k));
    QCOMPARE(q, view->mask()->n_q_blocks - 1);
    QCOMPARE(k, 0);
    QTest::mouseMove(view, pos);
    QTRY_COMPARE(view->hoveredTile(), flux::ui::describeTile(*view->mask(), q, k, 4000));
    QVERIFY(view->hoveredTile().contains(QStringLiteral("q tokens 3968–3999")));
    QVERIFY(view->hoveredTile().contains(QStringLiteral("heads 1/1")));
    // With the model's head count a static mask counts every head of a listed tile.
    panel.setModelHeads(9);
    QVERIFY(waitRaster(view));
    QCOMPARE(view->mask()->n_heads, 9);
    QCOMPARE(view->raster().cell(0, view->raster().height - 1), 9);
    QTest::mouseMove(view, pos + QPoint(1, 0));
    QTRY_VERIFY(view->hoveredTile().contains(QStringLiteral("heads 9/9")));
    QTemporaryDir dir;
    const QString png = dir.filePath(QStringLiteral("map.png")), svg = dir.filePath(QStringLiteral("map.svg"));
    QCOMPARE(panel.exportHeatmap(png), QString());
    QCOMPARE(panel.exportHeatmap(svg), QString());
    QCOMPARE(QImage(png).size(), view->size());
    QFile f(svg);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray text = f.readAll();
    QVERIFY(text.contains("<svg"));
    QVERIFY(text.contains("<image"));  // the raster inside the vector axes
    QVERIFY(text.contains("key tokens"));
  }

  void layerMapShowsDensityAttentionAndTheRoutersGreyedOpinion() {
    flux::ui::LayerTableModel m;
    m.setLayerCount(4);
    RunReport r;
    r.layers.resize(4);
    for (int i = 0; i < 4; ++i) {
      auto& l = r.layers[std::size_t(i)];
      l.index = i;
      l.prefill_ms = 2.0 + i;
      l.attention_ms = 0.5 + i * 0.25;
      l.density = 1.0 / (i + 1);
    }
    // Layer 1: forced FA, the router said SA (P(FA) 0.2). Layer 2: the router decided SA. Layer 3: no router.
    r.layers[1].source = flux::engine::DecisionSource::Override;
    r.layers[1].router_score = flux::engine::RouterScore{LayerMode::FA, 0.2};
    r.layers[2].mode = LayerMode::SA;
    r.layers[2].source = flux::engine::DecisionSource::Router;
    r.layers[2].router_score = flux::engine::RouterScore{LayerMode::FA, 0.3};
    QSignalSpy shown(&m, &flux::ui::LayerTableModel::reportShown);
    m.showReport(r);
    QCOMPARE(shown.count(), 1);
    using M = flux::ui::LayerTableModel;
    for (int i = 0; i < 4; ++i) {
      const auto& l = r.layers[std::size_t(i)];
      QCOMPARE(m.data(m.index(i, M::ColAttentionMs), M::RawRole).toDouble(), l.attention_ms);
      QCOMPARE(m.data(m.index(i, M::ColDensity), M::RawRole).toDouble(), l.density);
      QCOMPARE(m.data(m.index(i, M::ColDensity)).toString(), QString::number(l.density, 'f', 3));
    }
    QCOMPARE(m.headerData(M::ColAttentionMs, Qt::Horizontal).toString(), QStringLiteral("Attn ms"));
    // The forced layer still shows the router's opinion, greyed; the router-decided one is not greyed.
    QCOMPARE(m.data(m.index(1, M::ColRouterProb)).toString(), QStringLiteral("0.20"));
    QVERIFY(m.data(m.index(1, M::ColRouterProb), M::AdvisoryRole).toBool());
    QCOMPARE(m.data(m.index(1, M::ColRouterProb), Qt::ForegroundRole).value<QColor>(), QColor(Qt::gray));
    QVERIFY(m.data(m.index(1, M::ColRouterProb), Qt::ToolTipRole).toString().contains(QStringLiteral("would have chosen SA")));
    QVERIFY(!m.data(m.index(2, M::ColRouterProb), M::AdvisoryRole).toBool());
    QVERIFY(!m.data(m.index(3, M::ColRouterProb), M::AdvisoryRole).toBool());
    QCOMPARE(m.data(m.index(3, M::ColRouterProb)).toString(), QStringLiteral("—"));
    // The delegate paints the forced layer's bar grey and the router's decision in its mode colour.
    flux::ui::ProbBarDelegate delegate;
    const auto barColour = [&](int row) {
      QImage image(200, 24, QImage::Format_ARGB32);
      image.fill(Qt::white);
      QPainter painter(&image);
      QStyleOptionViewItem option;
      option.rect = image.rect();
      delegate.paint(&painter, option, m.index(row, M::ColRouterProb));
      painter.end();
      return QColor(image.pixel(6, 12));  // inside the filled part of the bar, left of the centred text
    };
    QCOMPARE(barColour(1), flux::ui::ProbBarDelegate::advisoryColor());
    QCOMPARE(barColour(2), flux::ui::modeColor(LayerMode::SA));
  }

  void prefillChartStacksAttentionRouterAndRest() {
    flux::ui::TimingCharts charts;
    charts.beginRun(3);
    std::vector<flux::engine::LayerReport> layers(3);
    for (int i = 0; i < 3; ++i) {
      auto& l = layers[std::size_t(i)];
      l.index = i;
      l.mode = i == 1 ? LayerMode::SA : LayerMode::FA;
      l.prefill_ms = 10.0 + i;
      l.router_ms = 0.5 * i;
      l.attention_ms = 3.0 + i;
      charts.addLayer(l);
    }
    for (int i = 0; i < 3; ++i) {
      const auto& l = layers[std::size_t(i)];
      QCOMPARE(charts.attentionValues(l.mode)[i], l.attention_ms);
      QCOMPARE(charts.attentionValues(l.mode == LayerMode::FA ? LayerMode::SA : LayerMode::FA)[i], 0.0);
      QCOMPARE(charts.routerValues()[i], l.router_ms);
      QCOMPARE(charts.restValues()[i], l.prefill_ms - l.attention_ms - l.router_ms);
      QCOMPARE(charts.prefillValues(l.mode)[i], l.prefill_ms - l.router_ms);
    }
  }

  void htmlReportHasMasksDensityAndScalingCharts() {
    AttentionPlan plan;
    plan.mode = AttentionMode::Triangle;
    RunReport r = staticReport(plan, 3000);
    r.layers[0].attention_ms = 1.25;
    r.layers[0].density = 0.4;
    const QString html = flux::ui::reportHtml(r, QByteArray("<?xml version=\"1.0\"?><svg viewBox=\"0 0 10 10\"></svg>"));
    QVERIFY(html.contains(QStringLiteral("<h2>Attention</h2>")));
    QCOMPARE(html.count(QStringLiteral("data:image/png;base64,")), 2);  // one picture per layer
    QVERIFY(html.contains(QStringLiteral("svg,img{max-width:100%;height:auto}")));
    QVERIFY(html.contains(QStringLiteral("Attention density per layer")));
    QVERIFY(html.contains(QStringLiteral("<th>attention ms</th>")));
    QVERIFY(html.contains(QStringLiteral("<td>1.250</td>")));
    QVERIFY(!html.contains(QStringLiteral("<?xml")));  // prologs stay out of the page
    QVERIFY(!html.contains(QStringLiteral("<h2>Memory</h2>")));  // nothing measured
    r.memory.measured = true;
    r.memory.weights = 3 << 20;
    r.memory.kv_all_fa = 4096;
    r.memory.layers.resize(2);
    r.memory.layers[0].kv_reserved = 1024;
    r.memory.layers[1].kv_reserved = 2048;
    const QString with_memory = flux::ui::reportHtml(r, {});
    QVERIFY(with_memory.contains(QStringLiteral("<h2>Memory</h2>")));
    QVERIFY(with_memory.contains(QStringLiteral("<tr><th>KV reserved</th><td>3.0 KiB (3072 bytes)</td></tr>")));
    QVERIFY(with_memory.contains(QStringLiteral("<tr><th>KV saving vs all-FA</th><td>25.0%</td></tr>")));
    const QByteArray density = flux::ui::densityChartSvg(r);
    QVERIFY(density.contains("viewBox=\"0 0 "));
    QVERIFY(density.contains("max-width:100%"));
    QCOMPARE(density.count("<rect"), 2);
  }
};

int runBlockMaskViewTest(int argc, char** argv) {
  BlockMaskViewTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "block_mask_view_test.moc"
