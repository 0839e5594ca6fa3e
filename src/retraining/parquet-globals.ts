/**
 * parquetjs-lite's Thrift-generated code assigns undeclared globals (`Statistics = module.exports.Statistics = …`).
 * That works when Node loads it as sloppy CommonJS, but a Lambda bundle is strict mode, where it throws
 * "ReferenceError: Statistics is not defined". Declaring the names on the global object first makes those
 * assignments legal. Must be imported before parquetjs-lite.
 */
const THRIFT_GLOBALS = [
  'BsonType', 'ColumnChunk', 'ColumnIndex', 'ColumnMetaData', 'ColumnOrder', 'DataPageHeader', 'DataPageHeaderV2', 'DateType',
  'DecimalType', 'DictionaryPageHeader', 'EnumType', 'FileMetaData', 'IndexPageHeader', 'IntType', 'JsonType', 'KeyValue',
  'ListType', 'LogicalType', 'MapType', 'MicroSeconds', 'MilliSeconds', 'NullType', 'OffsetIndex', 'PageEncodingStats',
  'PageHeader', 'PageLocation', 'RowGroup', 'SchemaElement', 'SortingColumn', 'Statistics', 'StringType', 'TimeType',
  'TimeUnit', 'TimestampType', 'TypeDefinedOrder', 'UUIDType', 'copyList', 'copyMap',
];

const scope = globalThis as Record<string, unknown>;
for (const name of THRIFT_GLOBALS) if (!(name in scope)) scope[name] = undefined;

export {};
