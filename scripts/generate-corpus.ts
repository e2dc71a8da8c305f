// `npm run courses:generate -- --courses 50 --lessons 20 --out /tmp/corpus`: writes a large,
// realistic-looking courses folder for measuring builds, content sync and the lesson gate.
// The text is generated deterministically from the course and lesson numbers.
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSiteSettings } from '../src/catalog/load.ts';

const { values } = parseArgs({
  options: {
    courses: { type: 'string', default: '50' },
    lessons: { type: 'string', default: '20' },
    out: { type: 'string', default: 'data/corpus' },
    'lesson-kb': { type: 'string', default: '6' },
  },
});
const courseCount = Number(values.courses);
const lessonCount = Number(values.lessons);
const targetBytes = Number(values['lesson-kb']) * 1024;
const out = values.out!;

const WORDS = (
  'python function value list dictionary module import return loop iterate string format file path read write ' +
  'error exception handle test assert class object method attribute data frame column index series mean sum ' +
  'script command line argument environment variable process service timer log level message config option ' +
  'performance memory cache query result request response server client network socket thread async await'
).split(' ');
const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY'];

let seed = 1;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
const sentence = () => {
  const words = Array.from({ length: 8 + Math.floor(random() * 12) }, () => pick(WORDS));
  return `${words.join(' ').replace(/^./, (c) => c.toUpperCase())}.`;
};
const paragraph = () => Array.from({ length: 3 + Math.floor(random() * 4) }, sentence).join(' ');

function lessonBody(c: number, l: number): string {
  const parts: string[] = [];
  let section = 1;
  while (parts.join('\n\n').length < targetBytes) {
    parts.push(`## Part ${section++}: ${pick(WORDS)} and ${pick(WORDS)}`, paragraph(), paragraph());
    parts.push('```python\n' + `def step_${c}_${l}_${section}(${pick(WORDS)}):\n    return [${pick(WORDS)} for ${pick(WORDS)} in range(${section})]\n` + '```');
    if (section % 3 === 0) parts.push(`| name | value |\n|---|---|\n| ${pick(WORDS)} | ${section} |\n| ${pick(WORDS)} | ${l} |`);
  }
  return parts.join('\n\n') + '\n';
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
copyFileSync('courses/site.yaml', join(out, 'site.yaml'));
// The site's settings come with the files they name (the author's photo), so the corpus builds.
const photo = (await loadSiteSettings('courses')).bio?.photo;
if (photo && existsSync(join('courses', photo))) copyFileSync(join('courses', photo), join(out, photo));
for (let c = 1; c <= courseCount; c++) {
  seed = c;
  const slug = `course-${String(c).padStart(3, '0')}`;
  const dir = join(out, slug);
  mkdirSync(dir, { recursive: true });
  const currency = CURRENCIES[c % CURRENCIES.length]!;
  const price = currency === 'JPY' ? String(3000 + c * 100) : `${19 + (c % 60)}.00`;
  writeFileSync(
    join(dir, 'course.md'),
    `---\ntitle: "Generated course ${c}: ${pick(WORDS)} ${pick(WORDS)}"\ndescription: "${sentence()}"\nprice: "${price}"\ncurrency: ${currency}\norder: ${c}\n---\n\n${paragraph()}\n\n${paragraph()}\n`,
  );
  for (let l = 1; l <= lessonCount; l++) {
    seed = c * 1000 + l;
    const preview = l === 1 ? 'preview: true\n' : '';
    writeFileSync(
      join(dir, `${String(l).padStart(2, '0')}-lesson-${l}.md`),
      `---\ntitle: "Lesson ${l}: ${pick(WORDS)} ${pick(WORDS)}"\nduration: ${5 + (l % 20)}\n${preview}---\n\n${lessonBody(c, l)}`,
    );
  }
}
console.log(`wrote ${courseCount} courses x ${lessonCount} lessons to ${out}`);
