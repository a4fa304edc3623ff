// The coverage map (Leaflet, bundled). No tiles unless the server names a tile URL
// (<meta name="linli-map-tiles">): seniors, providers' radii and communities are drawn on a plain background.
import L from "leaflet";
import "leaflet/dist/leaflet.css";

const COLORS = { covered: "#1b5e20", uncovered: "#b3261e", radius: "#0b57d0", community: "#4a148c", site: "#7a4b00" };
export { COLORS };

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content?.trim() || "";
export const tileSettings = () => ({ url: meta("linli-map-tiles"), attribution: meta("linli-map-attribution") });

/** A map in el of GET /center/map's data; returns {showSites(sites, radiusKm), remove()}. */
export function coverageMap(el, data, labels) {
  const tiles = tileSettings();
  const map = L.map(el, { preferCanvas: true, attributionControl: Boolean(tiles.url), zoomSnap: 0.5 });
  if (tiles.url) L.tileLayer(tiles.url, { attribution: tiles.attribution, maxZoom: 18 }).addTo(map);
  const points = [];
  for (const p of data.providers || []) {
    L.circle([p.lat, p.lon], { radius: p.radius_km * 1000, color: COLORS.radius, weight: 1, fillOpacity: 0.06 })
      .bindTooltip(p.name).addTo(map);
    const dLat = p.radius_km / 111.32, dLon = p.radius_km / (111.32 * Math.cos((p.lat * Math.PI) / 180));
    points.push([p.lat - dLat, p.lon - dLon], [p.lat + dLat, p.lon + dLon]); // the whole circle in view
  }
  for (const s of data.seniors || []) {
    L.circleMarker([s.lat, s.lon], { radius: 4, weight: 1, color: s.covered ? COLORS.covered : COLORS.uncovered,
      fillColor: s.covered ? COLORS.covered : COLORS.uncovered, fillOpacity: 0.8 }).addTo(map);
    points.push([s.lat, s.lon]);
  }
  for (const c of data.communities || []) {
    L.circleMarker([c.lat, c.lon], { radius: 7, weight: 3, color: COLORS.community, fillColor: "#ffffff", fillOpacity: 1 })
      .bindTooltip(c.name).addTo(map);
    points.push([c.lat, c.lon]);
  }
  if (points.length) map.fitBounds(L.latLngBounds(points).pad(0.05));
  else map.setView([25.79, 113.03], 11); // 郴州 (Chenzhou)
  let siteLayer = null;
  return {
    showSites(sites, radiusKm) {
      siteLayer?.remove();
      siteLayer = L.layerGroup(sites.flatMap((s, i) => [
        L.circle([s.lat, s.lon], { radius: radiusKm * 1000, color: COLORS.site, weight: 2, dashArray: "6 4", fillOpacity: 0.05 }),
        L.circleMarker([s.lat, s.lon], { radius: 9, weight: 3, color: COLORS.site, fillColor: "#ffffff", fillOpacity: 1 })
          .bindTooltip(labels.site(i + 1), { permanent: true, direction: "right" }),
      ])).addTo(map);
    },
    remove: () => map.remove(),
  };
}
