// Comparisons that can be trusted (issue 15 point 4), on hand-made reports: runs over different prompts, generated
// counts, backends or settings say so and show no speedup for what is not comparable (decode per token when only
// the generated count differs); Repeat entries give medians and min–max; a per-layer delta inside the combined
// spread is "within noise", single runs "noise unknown"; the view shows the warning and the per-layer delta chart.
#include <QLabel>
#include <QTableWidget>
#include <QTest>

#include "tests/ui/ui_tests.h"
#include "ui/comparison_export.h"
#include "ui/comparison_view.h"
#include "ui/run_comparison.h"
#include "ui/run_entry.h"

using flux::engine::LayerMode;
using flux::engine::LayerReport;
using flux::engine::RunReport;
using flux::ui::RunEntry;

namespace {

// A run over `prompt_tokens` tokens generating `generated` tokens, each layer taking `layer_ms` (decode 5 ms/token).
RunReport makeRun(int prompt_tokens, int generated, std::vector<double> layer_ms, double decode_ms = 5.0) {
  RunReport r;
  r.model_path = "/models/m.gguf";
  r.backend = "cpu";
  r.device = "cpu";
  r.prompt_tokens = prompt_tokens;
  double prefill = 0.0;
  for (int i = 0; i < int(layer_ms.size()); ++i) {
    LayerReport l;
    l.index = i;
    l.mode = LayerMode::FA;
    l.prefill_ms = layer_ms[std::size_t(i)];
    l.router_ms = 0.0;
    l.attention_ms = 0.4 * l.prefill_ms;  // the attention op is part of the layer's time
    r.layers.push_back(l);
    prefill += l.prefill_ms;
  }
  for (int t = 0; t < generated; ++t) r.tokens.push_back({t, "x", t == 0 ? prefill : decode_ms});
  r.output_text = std::string(std::size_t(generated), 'x');
  r.summary.prefill_ms = prefill;
  r.summary.ttft_ms = prefill;
  r.summary.total_ms = prefill + decode_ms * std::max(0, generated - 1);
  r.finalize_summary();
  return r;
}

RunEntry single(const RunReport& r, const std::string& prompt = "p") {
  return RunEntry{prompt, {r}, {}};
}

bool mentions(const flux::ui::RunComparison& c, const std::string& what) {
  for (const auto& d : c.differences)
    if (d.find(what) != std::string::npos) return true;
  return false;
}

}  // namespace

class TrustedComparisonTest : public QObject {
  Q_OBJECT
 private slots:
  void differentPromptsShowTheWarningAndNoSpeedup() {
    const RunReport a = makeRun(46, 16, {2.0, 2.0});
    const RunReport b = makeRun(1832, 16, {40.0, 40.0});
    const auto c = flux::ui::compare_runs(single(a, "short"), single(b, "long"));
    QVERIFY(!c.same_prompt);
    QVERIFY(mentions(c, "prompt tokens: 46 vs 1832"));
    QVERIFY(!c.prefill_comparable);
    QVERIFY(!c.decode_comparable);
    QVERIFY(!c.total_comparable);
    QCOMPARE(c.prefill_speedup, 0.0);
    QCOMPARE(c.decode_speedup, 0.0);
    QCOMPARE(c.total_speedup, 0.0);
    for (const auto& d : c.layers) QCOMPARE(d.speedup, 0.0);
    // The view says it in words and shows no "×" anywhere a speedup would be.
    flux::ui::ComparisonView view;
    view.compare(single(a, "short"), single(b, "long"));
    const QString text = view.summaryText();
    QVERIFY2(text.contains(QStringLiteral("Not the same run setup")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("different prompts")), qPrintable(text));
    QVERIFY2(!text.contains(QStringLiteral("×")), qPrintable(text));
    QVERIFY(view.table()->item(0, flux::ui::ComparisonView::ColSpeedup)->text().contains(QStringLiteral("not")));
    // Same token count, different text: still not the same prompt.
    const auto same_count = flux::ui::compare_runs(single(a, "one text"), single(a, "another text"));
    QVERIFY(!same_count.same_prompt);
    QCOMPARE(same_count.prefill_speedup, 0.0);
  }

  void onlyTheGeneratedCountDiffersNormalisesDecode() {
    const RunReport a = makeRun(100, 43, {4.0, 4.0}, 6.0);
    const RunReport b = makeRun(100, 16, {2.0, 2.0}, 3.0);
    const auto c = flux::ui::compare_runs(single(a), single(b));
    QVERIFY(c.same_prompt);
    QVERIFY(!c.same_generated);
    QVERIFY(mentions(c, "generated tokens: 43 vs 16"));
    QVERIFY(c.prefill_comparable);
    QCOMPARE(c.prefill_speedup, 2.0);
    QVERIFY(c.decode_comparable);
    QVERIFY(c.decode_normalised);
    QCOMPARE(c.decode_speedup, 2.0);  // 6 ms/token vs 3 ms/token
    QVERIFY(!c.total_comparable);
    QCOMPARE(c.total_speedup, 0.0);
    flux::ui::ComparisonView view;
    view.compare(single(a), single(b));
    QVERIFY2(view.summaryText().contains(QStringLiteral("normalised")), qPrintable(view.summaryText()));
    QVERIFY(view.summaryText().contains(QStringLiteral("total — (not comparable)")));
  }

  void otherBackendOrSettingsShowNoSpeedup() {
    const RunReport a = makeRun(100, 8, {4.0});
    RunReport b = makeRun(100, 8, {2.0});
    b.backend = "cuda";
    b.device = "NVIDIA H200";
    auto c = flux::ui::compare_runs(single(a), single(b));
    QVERIFY(mentions(c, "backend: cpu vs cuda"));
    QVERIFY(!c.same_setup);
    QCOMPARE(c.prefill_speedup, 0.0);
    QCOMPARE(c.total_speedup, 0.0);
    RunReport s = makeRun(100, 8, {2.0});
    s.settings.sampler.temperature = 0.7f;
    s.settings.chat = false;
    c = flux::ui::compare_runs(single(a), single(s));
    QVERIFY(mentions(c, "temperature"));
    QVERIFY(mentions(c, "chat template: on vs off"));
    QVERIFY(!c.prefill_comparable);
    // Routing alone may differ: that is what a comparison is for.
    RunReport routed = makeRun(100, 8, {2.0});
    routed.settings.route = "sa sa=xattn";
    routed.layers[0].mode = LayerMode::SA;
    c = flux::ui::compare_runs(single(a), single(routed));
    QVERIFY(c.differences.empty());
    QCOMPARE(c.prefill_speedup, 2.0);
    QCOMPARE(c.total_speedup, a.summary.total_ms / routed.summary.total_ms);
  }

  void repeatsGiveMediansSpreadAndNoise() {
    // Layer 0 differs beyond the spread, layer 1 within it.
    const RunEntry a{
        "p", {makeRun(64, 4, {10.0, 5.0}), makeRun(64, 4, {11.0, 6.0}), makeRun(64, 4, {12.0, 5.5})}, "g1"};
    const RunEntry b{"p", {makeRun(64, 4, {6.0, 5.8}), makeRun(64, 4, {7.0, 5.2}), makeRun(64, 4, {6.5, 7.0})}, "g2"};
    const flux::ui::Spread p = a.prefillMs();
    QCOMPARE(p.n, 3);
    QCOMPARE(p.min, 15.0);
    QCOMPARE(p.median, 17.0);  // runs of 15, 17 and 17.5 ms
    QCOMPARE(p.max, 17.5);
    const auto layers = a.layerPrefillMs();
    QCOMPARE(int(layers.size()), 2);
    QCOMPARE(layers[0].median, 11.0);
    QCOMPARE(layers[1].min, 5.0);
    QCOMPARE(layers[1].max, 6.0);
    const auto c = flux::ui::compare_runs(a, b);
    QCOMPARE(c.runs_a, 3);
    QCOMPARE(c.runs_b, 3);
    QCOMPARE(c.layers[0].ms_a, 11.0);  // medians
    QCOMPARE(c.layers[0].ms_b, 6.5);
    QCOMPARE(c.layers[0].noise, flux::ui::Noise::Outside);
    QCOMPARE(c.layers[1].noise, flux::ui::Noise::Within);
    QCOMPARE(c.prefill_speedup, a.prefillMs().median / b.prefillMs().median);
    // A single run on either side: the noise is unknown.
    const auto one = flux::ui::compare_runs(a, single(makeRun(64, 4, {6.0, 5.8})));
    QCOMPARE(one.layers[0].noise, flux::ui::Noise::Unknown);
    QCOMPARE(QString::fromLatin1(flux::ui::noiseName(one.layers[0].noise)),
             QStringLiteral("single run: noise unknown"));
    // The view: the noise column, the medians note and the delta chart (whole layer and attention only).
    flux::ui::ComparisonView view;
    view.compare(a, b);
    QCOMPARE(view.table()->item(1, flux::ui::ComparisonView::ColNoise)->text(), QStringLiteral("within noise"));
    QCOMPARE(view.table()->item(0, flux::ui::ComparisonView::ColNoise)->text(), QStringLiteral("outside noise"));
    QVERIFY(view.summaryText().contains(QStringLiteral("medians of 3 and 3 runs")));
    const QList<double> total = view.deltaValues(false);
    const QList<double> attention = view.deltaValues(true);
    QCOMPARE(total.size(), 2);
    QCOMPARE(total[0], c.layers[0].delta_ms);
    QCOMPARE(total[1], c.layers[1].delta_ms);
    QCOMPARE(attention[0], c.layers[0].attention_delta_ms);
    QCOMPARE(c.layers[0].attention_a, 0.4 * 11.0);  // the median of the attention op alone
    QCOMPARE(c.layers[0].attention_b, 0.4 * 6.5);
  }

  void exportedComparisonHasNoSpeedupWhereNotComparable() {
    const RunReport a = makeRun(46, 4, {2.0});
    const RunReport b = makeRun(1832, 4, {40.0});
    const auto c = flux::ui::compare_runs(single(a), single(b));
    const nlohmann::json j = flux::ui::comparisonJson(a, b, c);
    QVERIFY(j.at("speedup").at("prefill").is_null());
    QVERIFY(j.at("speedup").at("total").is_null());
    QVERIFY(j.at("layers")[0].at("speedup").is_null());
    QVERIFY(!j.at("differences").empty());
    const QString html = flux::ui::comparisonHtml(a, b, c);
    QVERIFY(html.contains(QStringLiteral("Not the same run setup")));
    QVERIFY(!html.contains(QStringLiteral("×0.")));
  }
};

int runTrustedComparisonTest(int argc, char** argv) {
  TrustedComparisonTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "trusted_comparison_test.moc"
