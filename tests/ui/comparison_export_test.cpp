// Exports of a comparison of two hand-made runs (JSON values, CSV rows, HTML with the per-layer table and output
// diff, a real PDF), and checkExportPath: an existing file is never replaced without consent, a missing folder or
// a folder path gives an error that names the path.
#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <QTextDocument>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/ui/ui_tests.h"
#include "ui/comparison_export.h"
#include "ui/report_export.h"

using flux::engine::LayerMode;
using flux::engine::LayerReport;
using flux::engine::RunReport;

namespace {

RunReport makeRun(std::vector<std::pair<LayerMode, double>> layers, double prefill, double decode, double total,
                  const std::string& text, const std::string& route) {
  RunReport r;
  for (int i = 0; i < int(layers.size()); ++i) {
    LayerReport l;
    l.index = i;
    l.mode = layers[std::size_t(i)].first;
    l.prefill_ms = layers[std::size_t(i)].second;
    r.layers.push_back(l);
  }
  r.summary.prefill_ms = prefill;
  r.summary.decode_ms_per_token = decode;
  r.summary.total_ms = total;
  r.output_text = text;
  r.settings.route = route;
  r.model_name = "tiny";
  return r;
}

QByteArray readAll(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

}  // namespace

class ComparisonExportTest : public QObject {
  Q_OBJECT
  RunReport a_ = makeRun({{LayerMode::FA, 10.0}, {LayerMode::FA, 8.0}}, 18.0, 5.0, 100.0, "the red fox", "fa");
  RunReport b_ = makeRun({{LayerMode::FA, 10.0}, {LayerMode::SA, 2.0}}, 12.0, 4.0, 80.0, "the blue fox", "sa");
  QTemporaryDir dir_;

 private slots:
  void jsonHoldsTheComparison() {
    const QString path = dir_.filePath(QStringLiteral("c.json"));
    QCOMPARE(flux::ui::exportComparison(a_, b_, path), QString());
    const auto j = nlohmann::json::parse(readAll(path).toStdString());
    QCOMPARE(j.at("schema_version").get<int>(), flux::ui::kComparisonSchemaVersion);
    QCOMPARE(j.at("speedup").at("prefill").get<double>(), 1.5);
    QCOMPARE(j.at("speedup").at("decode").get<double>(), 1.25);
    QCOMPARE(j.at("speedup").at("total").get<double>(), 1.25);
    QCOMPARE(j.at("plan_differences").get<int>(), 1);
    QCOMPARE(j.at("same_output").get<bool>(), false);
    QCOMPARE(j.at("layers").size(), std::size_t(2));
    QCOMPARE(j.at("layers")[1].at("mode_b").get<std::string>(), std::string("SA"));
    QCOMPARE(j.at("layers")[1].at("delta_ms").get<double>(), -6.0);
    QCOMPARE(j.at("layers")[1].at("speedup").get<double>(), 4.0);
    QCOMPARE(j.at("a").at("route").get<std::string>(), std::string("fa"));
    QCOMPARE(j.at("b").at("output_text").get<std::string>(), std::string("the blue fox"));
  }

  void csvHasSummaryAndLayerRows() {
    const QString path = dir_.filePath(QStringLiteral("c.csv"));
    QCOMPARE(flux::ui::exportComparison(a_, b_, path), QString());
    const QStringList lines = QString::fromUtf8(readAll(path)).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 1 + 3 + 2);
    QVERIFY(lines[1].startsWith(QStringLiteral("summary,prefill_ms,18,12,-6,1.5")));
    QCOMPARE(lines[5], QStringLiteral("layer,1,8,2,-6,4,FA,SA,1"));
  }

  void htmlAndPdfForPeople() {
    const QString html_path = dir_.filePath(QStringLiteral("c.html"));
    QCOMPARE(flux::ui::exportComparison(a_, b_, html_path), QString());
    const QByteArray html = readAll(html_path);
    QVERIFY(html.contains("×1.50"));  // prefill speedup
    QVERIFY(html.contains("1 routed differently"));
    QVERIFY(html.contains(">red</s>"));  // the output diff
    QVERIFY(html.contains(">blue</u>"));
    const QString pdf_path = dir_.filePath(QStringLiteral("c.pdf"));
    QCOMPARE(flux::ui::exportComparison(a_, b_, pdf_path), QString());
    QVERIFY(readAll(pdf_path).startsWith("%PDF"));
    QVERIFY(
        flux::ui::exportComparison(a_, b_, dir_.filePath(QStringLiteral("c.txt"))).contains(QStringLiteral(".json")));
    QVERIFY(flux::ui::exportComparison(a_, b_, QStringLiteral("/nonexistent-dir/c.json"))
                .contains(QStringLiteral("/nonexistent-dir/c.json")));
  }

  // Model names, routes and outputs come from files and models: in the HTML they are text, never markup (issue 20).
  void hostileTextIsShownAsText() {
    const std::string script = "<script>alert(1)</script>", img = "<img src=x onerror=alert(2)>";
    RunReport r = makeRun({{LayerMode::FA, 1.0}}, 1.0, 1.0, 2.0, script + " & </pre> " + img, img);
    r.model_name = img + script;
    RunReport other = r;
    other.output_text = "plain";
    for (const QString& html : {flux::ui::reportHtml(r, {}),
                                flux::ui::comparisonHtml(r, other, flux::ui::compare_runs(r, other))}) {
      QVERIFY(!html.contains(QStringLiteral("<script")));
      QVERIFY(!html.contains(QStringLiteral("<img src=x")));
      QTextDocument doc;  // what a browser shows: the strings themselves, as text
      doc.setHtml(html);
      const QString shown = doc.toPlainText();
      QVERIFY2(shown.contains(QString::fromStdString(script)), qPrintable(shown.left(400)));
      QVERIFY(shown.contains(QString::fromStdString(img)));
    }
  }

  void existingFilesNeedConsent() {
    const QString path = dir_.filePath(QStringLiteral("exists.json"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("keep me");
    f.close();
    const QString refused = flux::ui::checkExportPath(path, false);
    QVERIFY(refused.contains(path));
    QVERIFY(refused.contains(QStringLiteral("already exists")));
    QCOMPARE(readAll(path), QByteArray("keep me"));
    QCOMPARE(flux::ui::checkExportPath(path, true), QString());
    QCOMPARE(flux::ui::checkExportPath(dir_.filePath(QStringLiteral("new.json")), false), QString());
  }

  void unwritablePathsAreNamed() {
    const QString missing = flux::ui::checkExportPath(QStringLiteral("/nonexistent-dir/x/r.json"), true);
    QVERIFY(missing.contains(QStringLiteral("/nonexistent-dir/x/r.json")));
    QVERIFY(missing.contains(QStringLiteral("does not exist")));
    QVERIFY(flux::ui::checkExportPath(dir_.path(), true).contains(QStringLiteral("folder")));
    if (::geteuid() != 0) {  // root may write anywhere
      QTemporaryDir ro;
      QVERIFY(QFile::setPermissions(ro.path(), QFile::ReadOwner | QFile::ExeOwner));
      QVERIFY(flux::ui::checkExportPath(ro.filePath(QStringLiteral("r.json")), true)
                  .contains(QStringLiteral("permission")));
      QFile::setPermissions(ro.path(), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    }
  }
};

int runComparisonExportTest(int argc, char** argv) {
  ComparisonExportTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "comparison_export_test.moc"
