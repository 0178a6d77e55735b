import { Gauge, type Registry } from 'prom-client';
import { urgencies } from '../vuln/model.ts';
import type { CatalogReader } from './catalog-reader.ts';

/*
 * The CVE side of /metrics, read from the catalog like the rest: each image's open CVEs by
 * urgency and how many are fixable (the last scan of its latest release, src/vuln/catalog-scan.ts),
 * and the fleet's time to fix beside its freshness.
 */

type Catalog = Awaited<ReturnType<CatalogReader['listImages']>>;

const s = (ms: number) => ms / 1000;

/** Registers the CVE families; `update` sets them from one scrape's catalog. */
export function vulnMetrics(registry: Registry) {
  const cves = new Gauge({
    name: 'kiln_image_cves',
    help: "Open CVEs (fixable and unfixed) of each image's latest release, by the Security Tracker's urgency.",
    labelNames: ['image', 'urgency'],
    registers: [registry],
  });
  const fixable = new Gauge({
    name: 'kiln_image_cves_fixable',
    help: "Open CVEs of each image's latest release whose fix is already in one of its Debian suites (0 once a rebuild picked them up).",
    labelNames: ['image'],
    registers: [registry],
  });
  const scanned = new Gauge({
    name: 'kiln_image_cves_scanned_timestamp_seconds',
    help: "Unix time of the last CVE scan of each image's latest release.",
    labelNames: ['image'],
    registers: [registry],
  });
  const timeToFix = new Gauge({
    name: 'kiln_time_to_fix_seconds',
    help: 'Time from a CVE fix reaching a suite (first seen fixable) to the signed image without it being tagged: median (quantile 0.5) and 95th percentile across fixes.',
    labelNames: ['quantile'],
    registers: [registry],
  });
  const fixes = new Gauge({
    name: 'kiln_time_to_fix_count',
    help: 'CVE fixes that reached a tagged image (the samples of kiln_time_to_fix_seconds).',
    registers: [registry],
  });
  return {
    update(catalog: Catalog) {
      for (const g of [cves, fixable, scanned, timeToFix]) g.reset();
      for (const image of catalog.images) {
        const summary = image.latestCves;
        if (!summary) continue;
        for (const urgency of urgencies)
          cves.set({ image: image.name, urgency }, summary.byUrgency[urgency] ?? 0);
        fixable.set({ image: image.name }, summary.fixable);
        scanned.set({ image: image.name }, s(Date.parse(summary.scannedAt)));
      }
      const { medianMs, p95Ms, count } = catalog.timeToFix;
      if (medianMs !== undefined) timeToFix.set({ quantile: '0.5' }, s(medianMs));
      if (p95Ms !== undefined) timeToFix.set({ quantile: '0.95' }, s(p95Ms));
      fixes.set(count);
    },
  };
}
