import { describe, expect, it } from 'vitest';
import {
  CatalogFileError,
  formatOfFileName,
  inferAttributeValue,
  MAX_CATALOG_LINE_LENGTH,
  parseCatalogBytes,
  parseCatalogFile,
  readCsvRecords,
  writeCatalogItems,
} from '../../src/catalog/import-file';
import type { CatalogWriter } from '../../src/catalog/catalog-store';
import type { CatalogItem } from '../../src/catalog/item';

/** A u.item line: id|title|release|video release|URL|19 genre flags (MovieLens u.genre order). */
const flags = (...on: number[]) => Array.from({ length: 19 }, (_, i) => (on.includes(i) ? '1' : '0')).join('|');
const uitemLine = (id: string, title: string, ...genres: number[]) => `${id}|${title}|01-Jan-1995||http://us.imdb.com/x|${flags(...genres)}`;

describe('parseCatalogFile: MovieLens u.item', () => {
  it('reads id, title and genre flags as category names, through the recommender\'s u.item reader', () => {
    const text = [uitemLine('1', 'Toy Story (1995)', 3, 4, 5), uitemLine('2', 'GoldenEye (1995)', 1, 2, 16)].join('\n') + '\n';
    const out = parseCatalogFile(text, { fileName: 'u.item' });
    expect(out.format).toBe('uitem');
    expect(out.rejected).toEqual([]);
    expect(out.items).toEqual([
      { itemId: '1', title: 'Toy Story (1995)', categories: ['Animation', "Children's", 'Comedy'], available: true, attributes: {} },
      { itemId: '2', title: 'GoldenEye (1995)', categories: ['Action', 'Adventure', 'Thriller'], available: true, attributes: {} },
    ]);
  });

  it('reads Latin-1 bytes (as MovieLens ships u.item) and UTF-8 alike', () => {
    const latin1 = Buffer.from(uitemLine('7', 'Café au lait (1994)', 5) + '\n', 'latin1');
    expect(parseCatalogBytes(latin1, { fileName: 'u.item' }).items[0]!.title).toBe('Café au lait (1994)');
    const utf8 = Buffer.from(uitemLine('7', 'Café au lait (1994)', 5) + '\n', 'utf8');
    expect(parseCatalogBytes(utf8, { fileName: 'u.item' }).items[0]!.title).toBe('Café au lait (1994)');
  });

  it('rejects bad lines with their line numbers and keeps the others', () => {
    const text = [
      uitemLine('1', 'One', 1),
      '',
      'only|three|fields',
      uitemLine('3', 'Bad flag', 1).replace(/\|0$/, '|x'),
      uitemLine('bad id!', 'Spaces', 1),
      uitemLine('4', 'Four', 8),
    ].join('\r\n');
    const out = parseCatalogFile(text, { format: 'uitem' });
    expect(out.items.map((i) => i.itemId)).toEqual(['1', '4']);
    expect(out.rejected).toEqual([
      { line: 3, message: expect.stringContaining('expected 24 |-separated fields') },
      { line: 4, message: expect.stringContaining('genre flag 19 must be 0 or 1') },
      { line: 5, message: expect.stringMatching(/invalid item id|itemId/) },
    ]);
    expect(out.records).toBe(5);
  });
});

describe('parseCatalogFile: CSV', () => {
  const header = 'itemId,title,categories,price,available,createdAt,brand,rating,onSale';

  it('reads the standard columns and turns every other column into a typed custom attribute', () => {
    const text = `${header}\nlamp-1,Desk lamp,home|lighting,19.99,true,2026-01-02T03:04:05+01:00,Acme,4.5,false\nmug-2,Mug,,3,0,,Acme,,TRUE\n`;
    const out = parseCatalogFile(text, { fileName: 'items.csv' });
    expect(out.rejected).toEqual([]);
    expect(out.items[0]).toEqual({
      itemId: 'lamp-1',
      title: 'Desk lamp',
      categories: ['home', 'lighting'],
      price: 19.99,
      available: true,
      createdAt: '2026-01-02T02:04:05.000Z',
      attributes: { brand: 'Acme', rating: 4.5, onSale: false },
    });
    // Empty cells are absent; availability accepts 0/1; attributes keep their inferred type.
    expect(out.items[1]).toEqual({ itemId: 'mug-2', title: 'Mug', categories: [], price: 3, available: false, attributes: { brand: 'Acme', onSale: true } });
    expect(Object.getPrototypeOf(out.items[0]!.attributes)).toBeNull();
  });

  it('reads RFC 4180 quoting: commas, doubled quotes and line breaks inside quoted fields, CRLF records', () => {
    const text = `itemId,title,note\r\n"q1","Lamp, ""big"" edition","two\r\nlines"\r\nq2,"",plain\r\n`;
    const out = parseCatalogFile(text, { format: 'csv' });
    expect(out.rejected).toEqual([]);
    expect(out.items[0]).toMatchObject({ itemId: 'q1', title: 'Lamp, "big" edition', attributes: { note: 'two\r\nlines' } });
    expect(out.items[1]).toEqual({ itemId: 'q2', categories: [], available: true, attributes: { note: 'plain' } });
  });

  it('numbers a record that spans lines by its first line, and the records after it correctly', () => {
    const text = `itemId,title\na,"multi\nline\ntitle"\nb,"x"y\nc,ok\nd,"never closed\n`;
    const out = parseCatalogFile(text, { format: 'csv' });
    expect(out.items.map((i) => i.itemId)).toEqual(['a', 'c']);
    expect(out.rejected).toEqual([
      { line: 5, message: expect.stringContaining('after a closing quote') },
      { line: 7, message: 'unterminated quoted field (opened on line 7)' },
    ]);
  });

  it('rejects rows with the wrong number of fields or values the item contract refuses, naming line and field', () => {
    const text = `${header}\nok,Fine,,1,true,,,,\nshort,Short\nneg,Negative,,-1,true,,,,\nbadavail,X,,1,maybe,,,,\nbaddate,X,,1,true,yesterday,,,\n`;
    const out = parseCatalogFile(text, { fileName: 'x.csv' });
    expect(out.items.map((i) => i.itemId)).toEqual(['ok']);
    expect(out.rejected).toEqual([
      { line: 3, message: 'expected 9 comma-separated fields (as the header), got 2' },
      { line: 4, message: expect.stringMatching(/^price: must be between 0/) },
      { line: 5, message: 'available: must be true or false' },
      { line: 6, message: expect.stringMatching(/^createdAt: must be an ISO-8601 instant/) },
    ]);
  });

  it('refuses a header without itemId, with a duplicate, reserved or invalid column name, or too many attributes', () => {
    expect(() => parseCatalogFile('title,price\nx,1\n', { fileName: 'a.csv' })).toThrow(new CatalogFileError('a.csv', 1, 'the header needs an itemId column (columns: itemId,title,categories,price,available,createdAt, then custom attributes)'));
    expect(() => parseCatalogFile('itemId,brand,Brand\n', { fileName: 'a.csv' })).toThrow('a.csv:1: column "Brand" appears twice in the header');
    expect(() => parseCatalogFile('itemId,category\n', { fileName: 'a.csv' })).toThrow('column "category" is reserved');
    expect(() => parseCatalogFile('itemId,__proto__\n', { fileName: 'a.csv' })).toThrow('column 2 "__proto__" is not a valid attribute name');
    expect(() => parseCatalogFile('itemId,my col\n', { fileName: 'a.csv' })).toThrow('is not a valid attribute name');
    expect(() => parseCatalogFile('itemId,\n', { fileName: 'a.csv' })).toThrow('column 2 of the header has no name');
    const many = ['itemId', ...Array.from({ length: 33 }, (_, i) => `a${i}`)].join(',');
    expect(() => parseCatalogFile(many + '\n', { fileName: 'a.csv' })).toThrow('33 custom attribute columns; at most 32');
    expect(() => parseCatalogFile('', { fileName: 'a.csv' })).toThrow('a.csv:1: is empty');
    expect(() => parseCatalogBytes(Buffer.from([0x69, 0x74, 0x65, 0x6d, 0xff, 0x0a]), { fileName: 'a.csv' })).toThrow('a.csv: is not valid UTF-8');
  });

  it('takes prototype names as data: ids and attribute columns named like Object members', () => {
    const text = 'itemId,title,constructor,toString,hasOwnProperty\n__proto__,P,1,yes,true\nconstructor,C,x,y,false\nprototype,Q,,,\n';
    const out = parseCatalogFile(text, { fileName: 'p.csv' });
    expect(out.rejected).toEqual([]);
    expect(out.items.map((i) => i.itemId)).toEqual(['__proto__', 'constructor', 'prototype']);
    expect(out.items[0]!.attributes).toEqual({ constructor: 1, toString: 'yes', hasOwnProperty: true });
    expect(Object.getPrototypeOf(out.items[0]!.attributes)).toBeNull();
    expect(({} as Record<string, unknown>).constructor).toBe(Object);
  });

  it('infers attribute types: booleans, decimal numbers, strings for everything else', () => {
    expect(inferAttributeValue('true')).toBe(true);
    expect(inferAttributeValue('FALSE')).toBe(false);
    expect(inferAttributeValue('42')).toBe(42);
    expect(inferAttributeValue('-0.5')).toBe(-0.5);
    expect(inferAttributeValue('1e3')).toBe(1000);
    expect(inferAttributeValue('.5')).toBe(0.5);
    for (const s of ['1e999', '0x10', 'NaN', 'Infinity', '12abc', '1,5', 'yes', '']) expect(inferAttributeValue(s), s).toBe(s);
  });
});

describe('parseCatalogFile: JSON lines', () => {
  it('validates each line with the item contract; the later line of a repeated itemId wins, and is counted', () => {
    const text = [
      JSON.stringify({ itemId: 'a', title: 'First', categories: ['x'], price: '9.50', attributes: { brand: 'Acme' } }),
      '   ',
      '{not json',
      JSON.stringify({ itemId: 'b', colour: 'red' }),
      JSON.stringify([1, 2]),
      JSON.stringify({ itemId: 'a', title: 'Second', categories: ['y'] }),
    ].join('\n');
    const out = parseCatalogFile(text, { fileName: 'items.jsonl' });
    expect(out.items).toEqual([{ itemId: 'a', title: 'Second', categories: ['y'], available: true, attributes: {} }]);
    expect(out.duplicates).toBe(1);
    expect(out.records).toBe(5);
    expect(out.rejected).toEqual([
      { line: 3, message: expect.stringMatching(/^not valid JSON/) },
      { line: 4, message: '(item): unknown field(s) colour: custom values go in attributes' },
      { line: 5, message: '(item): must be an object with at least itemId' },
    ]);
  });

  it('refuses prototype-named fields and huge or deeply nested lines with a message, never a crash', () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const text = [
      '{"itemId":"x","__proto__":{"polluted":true}}',
      JSON.stringify({ itemId: 'constructor', attributes: { toString: 'data', valueOf: 1 } }),
      JSON.stringify({ itemId: 'y', title: 'x'.repeat(MAX_CATALOG_LINE_LENGTH) }),
      JSON.stringify({ itemId: 'z', attributes: { nested: { deep } } }),
      deep,
    ].join('\n');
    const out = parseCatalogFile(text, { format: 'jsonl' });
    expect(out.items.map((i) => i.itemId)).toEqual(['constructor']);
    expect(out.items[0]!.attributes).toEqual({ toString: 'data', valueOf: 1 });
    expect(out.rejected.map((r) => r.line)).toEqual([1, 3, 4, 5]);
    expect(out.rejected[0]!.message).toContain('unknown field(s) __proto__');
    expect(out.rejected[1]!.message).toMatch(/^line is \d+ characters long; at most 65536 are read$/);
    expect(out.rejected[2]!.message).toMatch(/^attributes\.nested: must be a string, a finite number or a boolean/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('format and CSV reader', () => {
  it('takes the format from the extension or the option, and refuses a name that says none', () => {
    expect(formatOfFileName('data/ml-100k/u.item')).toBe('uitem');
    expect(formatOfFileName('C:\\x\\Items.CSV')).toBe('csv');
    expect(formatOfFileName('a.ndjson')).toBe('jsonl');
    expect(formatOfFileName('a.jsonl')).toBe('jsonl');
    expect(formatOfFileName('items.txt')).toBeUndefined();
    expect(() => parseCatalogFile('x', { fileName: 'items.txt' })).toThrow('items.txt: cannot tell the format from the file name');
    expect(parseCatalogFile('{"itemId":"a"}', { fileName: 'items.txt', format: 'jsonl' }).items).toHaveLength(1);
    expect(() => parseCatalogFile('x', { format: 'xml' as never })).toThrow('unknown format "xml"');
  });

  it('splits records as RFC 4180 says', () => {
    expect([...readCsvRecords('a,b\n"c,d",""""\n\n,\n')]).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['c,d', '"'] },
      { line: 4, fields: ['', ''] },
    ]);
    expect([...readCsvRecords('x')]).toEqual([{ line: 1, fields: ['x'] }]);
  });
});

describe('writeCatalogItems', () => {
  const item = (itemId: string): CatalogItem => ({ itemId, categories: [], available: true, attributes: {} });
  const items = Array.from({ length: 1203 }, (_, i) => item(`i${i}`));

  it('writes 500 items a call, stamps one time, reports per-item failures and progress', async () => {
    const calls: number[] = [];
    const stamps = new Set<number>();
    const writer: CatalogWriter = {
      async put(batch, nowMs) {
        calls.push(batch.length);
        stamps.add(nowMs);
        return { failed: batch.filter((i) => i.itemId === 'i7').map((i) => ({ itemId: i.itemId, reason: 'too big' })) };
      },
      withdraw: async () => false,
    };
    const progress: number[] = [];
    const report = await writeCatalogItems(writer, items, { nowMs: 42, onProgress: (done) => progress.push(done) });
    expect(calls).toEqual([500, 500, 203]);
    expect([...stamps]).toEqual([42]);
    expect(report).toEqual({ written: 1202, failed: [{ itemId: 'i7', reason: 'too big' }] });
    expect(progress).toEqual([500, 1000, 1203]);
  });

  it('stops after a first batch that throws (no table), failing every item with the reason; later throws fail their batch only', async () => {
    let calls = 0;
    const missing: CatalogWriter = { put: async () => { calls++; throw new Error('Requested resource not found'); }, withdraw: async () => false };
    const none = await writeCatalogItems(missing, items, { nowMs: 1 });
    expect(calls).toBe(1);
    expect(none.written).toBe(0);
    expect(none.failed).toHaveLength(1203);
    expect(none.failed[1202]).toEqual({ itemId: 'i1202', reason: 'Requested resource not found' });

    let n = 0;
    const flaky: CatalogWriter = { put: async (batch) => { if (++n === 2) throw new Error('throttled'); return { failed: [] }; }, withdraw: async () => false };
    const some = await writeCatalogItems(flaky, items, { nowMs: 1 });
    expect(some.written).toBe(703);
    expect(some.failed).toHaveLength(500);
  });
});
