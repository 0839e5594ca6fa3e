import { describe, expect, it } from 'vitest';
import { parseItemsFile, parseRatingsFile } from '../../src/recommender/index';

describe('parseRatingsFile', () => {
  const expected = [
    { userId: '1', itemId: '10', rating: 4, timestamp: 881250949_000 },
    { userId: '2', itemId: '20', rating: 3.5, timestamp: 881250950_000 },
  ];

  it('reads MovieLens u.data (tab), converting epoch seconds to ms', () => {
    expect(parseRatingsFile('1\t10\t4\t881250949\n2\t20\t3.5\t881250950\n')).toEqual(expected);
  });

  it('reads MovieLens ratings.dat (::) with CRLF line ends', () => {
    expect(parseRatingsFile('1::10::4::881250949\r\n2::20::3.5::881250950\r\n')).toEqual(expected);
  });

  it('reads CSV with a header in any column order, epoch ms or ISO timestamps', () => {
    const csv = 'rating,timestamp,userId,itemId\n4,881250949000,1,10\n3.5,1997-12-04T15:55:50.000Z,2,20\n';
    expect(parseRatingsFile(csv)).toEqual(expected);
    expect(parseRatingsFile('userId,movieId,rating,timestamp\n1,10,4,881250949\n')).toEqual([expected[0]]);
  });

  it('names the file and line of a malformed record', () => {
    expect(() => parseRatingsFile('1\t10\t4\t881250949\n2\t20\t4\n', 'u.data')).toThrow('u.data:2: expected 4 tab-separated fields');
    expect(() => parseRatingsFile('1::10::4::881250949\n\n1::11::five::881250949\n', 'ratings.dat')).toThrow(
      'ratings.dat:3: rating "five" is not a number',
    );
    expect(() => parseRatingsFile('userId,itemId,rating,timestamp\n1,2,3,yesterday\n', 'r.csv')).toThrow(
      'r.csv:2: timestamp "yesterday" is not an epoch number or ISO-8601 date',
    );
    expect(() => parseRatingsFile('user,thing\n1,2\n', 'r.csv')).toThrow('r.csv:1: CSV ratings need a header');
    expect(() => parseRatingsFile('hello world\n', 'x.txt')).toThrow('x.txt:1: unrecognised ratings format');
    expect(() => parseRatingsFile('', 'empty.csv')).toThrow('empty.csv:1: file is empty');
  });
});

describe('parseItemsFile', () => {
  const flags = (on: number[]) => Array.from({ length: 19 }, (_, g) => (on.includes(g) ? '1' : '0')).join('|');

  it("reads MovieLens u.item genre flags in u.genre order", () => {
    const text = `7|Some Film (1995)|01-Jan-1995||http://example.invalid/|${flags([1, 5, 15])}\n8|Other, The (1996)|||x|${flags([])}\n`;
    expect(parseItemsFile(text)).toEqual([
      { itemId: '7', title: 'Some Film (1995)', genres: ['Action', 'Comedy', 'Sci-Fi'] },
      { itemId: '8', title: 'Other, The (1996)', genres: [] },
    ]);
  });

  it('reads CSV itemId,title,genres with quoted titles', () => {
    const text = 'itemId,title,genres\n1,"Film, The (1999)",Drama|Romance\n2,Plain,(no genres listed)\n';
    expect(parseItemsFile(text)).toEqual([
      { itemId: '1', title: 'Film, The (1999)', genres: ['Drama', 'Romance'] },
      { itemId: '2', title: 'Plain', genres: [] },
    ]);
  });

  it('names the line of a malformed record', () => {
    expect(() => parseItemsFile(`1|A|||x|${flags([])}\n2|B|||x|0|1\n`, 'u.item')).toThrow('u.item:2: expected 24 |-separated fields');
    expect(() => parseItemsFile('itemId,title,genres\n1,"unterminated,Drama\n', 'items.csv')).toThrow('items.csv:2: unterminated quoted field');
  });
});
