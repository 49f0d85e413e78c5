/** When a picture was taken, as the camera or the cataloguer recorded it. A time recorded without a zone
 * is stored as UTC, so shown in UTC it reads as written (in the browser's zone a 10:00 photo read 5:00 in
 * New York); a time recorded at an offset ("…T10:00:00+02:00") reads at that offset, which it names. */
export function takenText(iso: string): string {
  const offset = /([+-])(\d\d):(\d\d)$/.exec(iso);
  const minutes = offset ? (offset[1] === "-" ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) : 0;
  const wall = new Date(new Date(iso).getTime() + minutes * 60_000);
  const text = wall.toLocaleString(undefined, { timeZone: "UTC" });
  return offset && minutes ? `${text} (UTC${offset[1]}${offset[2]}:${offset[3]})` : text;
}
